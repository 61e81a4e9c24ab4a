"""The API keys pages: list, create (the key is shown once), roll and revoke."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from accounts.permissions import Permission
from accounts.web import OrgViewMixin, add_service_errors, or_404
from apikeys.forms import ApiKeyCreateForm, ApiKeyRollForm
from apikeys.models import ApiKey
from apikeys.selectors import apikey_count_invalid, apikey_get, apikey_list
from apikeys.services import apikey_create, apikey_revoke, apikey_roll


class ApiKeyViewMixin(OrgViewMixin):
    permission = Permission.KEYS_CREATE

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(nav_section="keys", **kwargs)


class ShowOnceMixin:
    """Renders the new key in the POST response itself: never a redirect, the session, messages or logs."""

    request: HttpRequest
    created_template_name = "apikeys/apikey_created.html"

    def render_new_key(self, *, key: ApiKey, plaintext: str, **context: Any) -> HttpResponse:
        context = self.get_context_data(  # type: ignore[attr-defined]
            key=key, plaintext=plaintext, public_url=settings.PUBLIC_URL, **context
        )
        response = TemplateResponse(self.request, self.created_template_name, context)
        # Nothing may keep a copy: not the browser's cache, not a proxy, not the back button.
        add_never_cache_headers(response)
        return response


class ApiKeyListView(ApiKeyViewMixin, TemplateView):
    template_name = "apikeys/apikey_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        show_invalid = self.request.GET.get("show") == "inactive"
        return super().get_context_data(
            keys=list(apikey_list(principal=self.principal, valid=not show_invalid)),
            show_invalid=show_invalid,
            invalid_count=apikey_count_invalid(principal=self.principal),
            manages_keys=self.principal.can(Permission.KEYS_MANAGE),
            **kwargs,
        )


class ApiKeyCreateView(ApiKeyViewMixin, ShowOnceMixin, FormView):
    template_name = "apikeys/apikey_create.html"
    form_class = ApiKeyCreateForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "principal": self.principal}

    def form_valid(self, form: ApiKeyCreateForm) -> HttpResponse:
        data = form.cleaned_data
        try:
            key, plaintext = apikey_create(
                principal=self.principal,
                name=data["name"],
                project=data["project"],
                scopes=data["scope_list"],
                expires_at=data["expires_at"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        return self.render_new_key(key=key, plaintext=plaintext)


class ApiKeyRollView(ApiKeyViewMixin, ShowOnceMixin, FormView):
    template_name = "apikeys/apikey_roll.html"
    form_class = ApiKeyRollForm

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.key.created_by_id != self.principal.user.pk:
            # The same rule apikey_roll() applies; said before the form, not after it.
            raise PermissionDenied(_("Only the member who created a key can roll it. Revoke it instead."))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(old_key=self.key, **kwargs)

    @property
    def key(self) -> ApiKey:
        if not hasattr(self, "_key"):
            self._key = or_404(apikey_get, principal=self.principal, public_id=self.kwargs["key_id"])
        return self._key

    def form_valid(self, form: ApiKeyRollForm) -> HttpResponse:
        old = self.key
        try:
            key, plaintext = apikey_roll(
                principal=self.principal, key=old, overlap=form.cleaned_data["overlap"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
            return self.form_invalid(form)
        old.refresh_from_db(fields=["expires_at"])
        return self.render_new_key(key=key, plaintext=plaintext, rolled_from=old)


class ApiKeyRevokeView(ApiKeyViewMixin, TemplateView):
    template_name = "apikeys/apikey_revoke.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(key=self.get_key(), **kwargs)

    def get_key(self) -> ApiKey:
        return or_404(apikey_get, principal=self.principal, public_id=self.kwargs["key_id"])

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = apikey_revoke(principal=self.principal, key=self.get_key())
        messages.success(
            request,
            _("The key “%(name)s” (%(hint)s) is revoked: its next request will be refused.")
            % {"name": key.name, "hint": key.hint},
        )
        return redirect("apikeys:list", org_slug=self.org.slug)
