"""The API keys pages: list, create (the key is shown once), a key and its MCP tools, roll and revoke."""

from __future__ import annotations

import secrets
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from accounts.core.forms import ToolPolicyForm
from accounts.core.permissions import Permission
from accounts.core.web import ServiceFormMixin, or_404
from accounts.orgs.mixins import OrgViewMixin
from apikeys.forms import ApiKeyCreateForm, ApiKeyRollForm
from apikeys.models import ApiKey
from apikeys.selectors import apikey_count_invalid, apikey_get, apikey_list
from apikeys.services import apikey_create, apikey_revoke, apikey_roll, apikey_set_tool_policy

# Form nonces of this session: nonce -> whether a key was made with it. A few are kept, for several tabs.
NONCES_SESSION_KEY = "apikeys_nonces"
MAX_NONCES = 20


class ApiKeyViewMixin(OrgViewMixin):
    # Listing and revoking one's own keys needs no permission: a member demoted to viewer keeps keys
    # that still act for them (read-only now), and must be able to see and revoke them.
    permission: Permission | None = None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(nav_section="keys", **kwargs)


class ShowOnceMixin(ServiceFormMixin):
    """Renders the new key in the POST response itself: never a redirect, the session, messages or logs.

    The form carries a nonce issued with it; a second POST with the same nonce (a reload of the
    "key created" page) creates nothing and says why.
    """

    request: HttpRequest
    created_template_name = "apikeys/apikey_created.html"
    already_done_message: str | Promise = ""

    def get_initial(self) -> dict[str, Any]:
        initial: dict[str, Any] = super().get_initial()  # type: ignore[misc]
        if self.request.method == "GET":
            initial["nonce"] = self._issue_nonce()
        return initial

    def _nonces(self) -> dict[str, bool]:
        return dict(self.request.session.get(NONCES_SESSION_KEY, {}))

    def _issue_nonce(self) -> str:
        nonce = secrets.token_urlsafe(16)
        nonces = self._nonces()
        nonces[nonce] = False
        self.request.session[NONCES_SESSION_KEY] = dict(list(nonces.items())[-MAX_NONCES:])
        return nonce

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        used = self._nonces().get(request.POST.get("nonce", ""))
        if used is None:
            # No nonce from this session (it expired, or the form came from elsewhere): start again.
            messages.warning(request, _("This form has expired. Fill it in again."))
            return redirect(request.path)
        if used:
            messages.warning(request, str(self.already_done_message))
            return redirect("apikeys:list", org_slug=kwargs["org_slug"])
        return super().post(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def render_new_key(self, *, key: ApiKey, plaintext: str, **context: Any) -> HttpResponse:
        nonces = self._nonces()
        nonces[self.request.POST["nonce"]] = True
        self.request.session[NONCES_SESSION_KEY] = nonces
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
    permission = Permission.KEYS_CREATE
    template_name = "apikeys/apikey_create.html"
    form_class = ApiKeyCreateForm
    already_done_message = gettext_lazy(
        "This key was already created; it is shown only once. If you did not copy it, revoke it and "
        "create another."
    )

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "principal": self.principal}

    def save(self, form: ApiKeyCreateForm) -> HttpResponse:
        data = form.cleaned_data
        key, plaintext = apikey_create(
            principal=self.principal,
            name=data["name"],
            project=data["project"],
            scopes=data["scope_list"],
            expires_at=data["expires_at"],
            tool_policy=data["tool_policy"],
        )
        return self.render_new_key(key=key, plaintext=plaintext)


class ApiKeyDetailView(ApiKeyViewMixin, ServiceFormMixin, FormView):
    """One key: what it is, and its MCP tool policy, which its creator and managers can change."""

    template_name = "apikeys/apikey_detail.html"
    form_class = ToolPolicyForm

    @cached_property
    def key(self) -> ApiKey:
        return or_404(apikey_get, principal=self.principal, public_id=self.kwargs["key_id"])

    @property
    def can_edit(self) -> bool:
        own = self.principal.user is not None and self.key.created_by_id == self.principal.user.pk
        return self.key.is_valid and (own or self.principal.can(Permission.KEYS_MANAGE))

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "initial_policy": self.key.policy}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(key=self.key, can_edit=self.can_edit, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not self.can_edit:
            raise PermissionDenied(_("Only the key's creator or an organization admin can change it."))
        return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]

    def save(self, form: ToolPolicyForm) -> HttpResponse:
        key = apikey_set_tool_policy(
            principal=self.principal, key=self.key, tool_policy=form.cleaned_data["tool_policy"]
        )
        messages.success(
            self.request,
            _("The MCP tools of “%(name)s” are saved: its next request follows them.") % {"name": key.name},
        )
        return redirect("apikeys:detail", org_slug=self.org.slug, key_id=key.public_id)


class ApiKeyRollView(ApiKeyViewMixin, ShowOnceMixin, FormView):
    permission = Permission.KEYS_CREATE
    template_name = "apikeys/apikey_roll.html"
    form_class = ApiKeyRollForm
    already_done_message = gettext_lazy(
        "This key was already rolled; the new key is shown only once. If you did not copy it, roll the "
        "new key in its turn."
    )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._ensure_own_key()
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self._ensure_own_key()  # another organization's key is a 404 before any nonce is looked at
        return super().post(request, *args, **kwargs)

    def _ensure_own_key(self) -> None:
        if self.key.created_by_id != self.principal.person.pk:
            # The same rule apikey_roll() applies; said before the form, not after it.
            raise PermissionDenied(_("Only the member who created a key can roll it. Revoke it instead."))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(old_key=self.key, **kwargs)

    @cached_property
    def key(self) -> ApiKey:
        return or_404(apikey_get, principal=self.principal, public_id=self.kwargs["key_id"])

    def save(self, form: ApiKeyRollForm) -> HttpResponse:
        old = self.key
        key, plaintext = apikey_roll(principal=self.principal, key=old, overlap=form.cleaned_data["overlap"])
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
