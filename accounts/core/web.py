"""Glue between Django views and the services: principal from the session, errors to 404 and forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase

from accounts.core.client import meta_client_ip, meta_user_agent
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from accounts.orgs.models import Organization
from accounts.orgs.selectors import principal_for_member
from accounts.users.models import User

T = TypeVar("T")


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address (accounts/client.py), or None."""
    return meta_client_ip(request.META)


def user_agent(request: HttpRequest) -> str:
    """The User-Agent header, cut to what the audit log keeps."""
    return meta_user_agent(request.META)


def signed_in_user(request: HttpRequest) -> User:
    """`request.user` in a view that requires sign-in, typed as the User it is there."""
    user = request.user
    if not isinstance(user, User):
        # An anonymous request reached a sign-in-only view: a missing login check, so refuse.
        raise PermissionDenied
    return user


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


class OrgViewMixin(LoginRequiredMixin):
    """Resolves `self.principal` from the URL's org slug and the signed-in user's membership.

    Non-members get the same 404 as a missing organization; members without `permission` get 403.
    """

    permission: Permission | None = None
    principal: Principal
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.principal = principal_for_member(
                user=signed_in_user(request),
                org_slug=kwargs["org_slug"],
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
        except Organization.DoesNotExist:
            raise Http404 from None
        if self.permission is not None:
            self.principal.require(self.permission)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    @property
    def org(self) -> Organization:
        return self.principal.organization

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(org=self.org, principal=self.principal, can=PermissionFlags(self.principal))
        return context


class PermissionFlags:
    """`{% if can.members_manage %}` in templates, asking the same role matrix as the services."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    def __getattr__(self, name: str) -> bool:
        try:
            permission = Permission(name.replace("_", ":", 1))
        except ValueError:
            raise AttributeError(name) from None
        return self._principal.can(permission)
