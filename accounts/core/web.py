"""Glue between Django views and the services: who is asking, errors to 404 and to form errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django import forms
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse

from accounts.core.client import meta_client_ip, meta_user_agent

if TYPE_CHECKING:
    from accounts.users.models import User

T = TypeVar("T")


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address (accounts/core/client.py), or None."""
    return meta_client_ip(request.META)


def user_agent(request: HttpRequest) -> str:
    """The User-Agent header, cut to what the audit log keeps."""
    return meta_user_agent(request.META)


def signed_in_user(request: HttpRequest) -> User:
    """`request.user` in a view that requires sign-in, typed as the User it is there."""
    user = request.user
    if not user.is_authenticated:
        # An anonymous request reached a sign-in-only view: a missing login check, so refuse.
        raise PermissionDenied
    return cast("User", user)


def or_404(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a selector; a missing row, or another organization's, is the same 404."""
    try:
        return fn(**kwargs)
    except ObjectDoesNotExist:
        raise Http404 from None


class ServiceFormMixin:
    """A form whose valid data goes to one service; the service's ValidationError is shown on the form."""

    def form_valid(self, form: forms.Form) -> HttpResponse:
        try:
            return self.save(form)
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)  # type: ignore[attr-defined]

    def save(self, form: Any) -> HttpResponse:
        raise NotImplementedError


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it, else on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
