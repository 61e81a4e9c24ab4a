"""Organizations: where `/` leads, create one, its settings (rename, leave)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView, TemplateView

from accounts.core.permissions import Permission
from accounts.core.web import (
    ServiceFormMixin,
    add_service_errors,
    client_ip,
    signed_in_user,
    user_agent,
)
from accounts.orgs.forms import (
    OrganizationCreateForm,
    OrganizationRenameForm,
)
from accounts.orgs.mixins import OrgViewMixin
from accounts.orgs.selectors import (
    invitation_list_for_recipient,
    membership_get,
    organization_list_for_user,
)
from accounts.orgs.services import (
    member_remove,
    organization_create,
    organization_update,
)

LAST_ORG_SESSION_KEY = "last_org"
# Set once the person has seen their pending invitations in this session (signing in starts a new one).
INVITATIONS_SHOWN_SESSION_KEY = "invitations_shown"
# How many invitations wait for the person, counted by `/` (where signing in lands) and the invitations
# page, for the header's menu: kept in the session, so that no page pays a query for it.
PENDING_INVITATIONS_SESSION_KEY = "pending_invitations"


def remember_pending_invitations(request: HttpRequest, count: int) -> None:
    request.session[PENDING_INVITATIONS_SESSION_KEY] = count


class HomeView(View):
    """Send people where they work: their pending invitations (once a session), their last organization,
    their first one, or to create one."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect("accounts:login")
        user = signed_in_user(request)
        pending = len(invitation_list_for_recipient(user=user).values_list("pk", flat=True))
        remember_pending_invitations(request, pending)
        if pending and not request.session.get(INVITATIONS_SHOWN_SESSION_KEY):
            return redirect("accounts:invitations")
        organizations = organization_list_for_user(user=user)
        last = request.session.get(LAST_ORG_SESSION_KEY)
        org = organizations.filter(slug=last).first() if last else None
        org = org or organizations.first()
        if org is None:
            return redirect("accounts:org_create")
        return redirect("accounts:org_home", org_slug=org.slug)


def forget_last_org(request: HttpRequest, slug: str) -> None:
    if request.session.get(LAST_ORG_SESSION_KEY) == slug:
        del request.session[LAST_ORG_SESSION_KEY]


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


class OrganizationCreateView(LoginRequiredMixin, ServiceFormMixin, FormView):
    """Create an organization; a person with none lands here from the home page."""

    template_name = "accounts/orgs/organization_create.html"
    form_class = OrganizationCreateForm

    def save(self, form: OrganizationCreateForm) -> HttpResponse:
        org = organization_create(
            user=signed_in_user(self.request),
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            ip=client_ip(self.request),
            user_agent=user_agent(self.request),
        )
        messages.success(
            self.request,
            _("%(org)s is ready. Invite your team from Members.") % {"org": org.name},
        )
        return redirect("accounts:org_home", org_slug=org.slug)


class OrganizationHomeView(OrgViewMixin, View):
    """The organization's front door: remember it for `/`, then show its projects."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        request.session[LAST_ORG_SESSION_KEY] = self.org.slug
        return redirect("accounts:projects", org_slug=self.org.slug)


class OrganizationSettingsView(OrgViewMixin, TemplateView):
    """Rename the organization (admins and owners) and leave it (every member)."""

    template_name = "accounts/orgs/organization_settings.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        if self.principal.can(Permission.ORG_MANAGE):
            kwargs.setdefault("rename_form", OrganizationRenameForm(initial={"name": self.org.name}))
        return super().get_context_data(nav_section="settings", **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = request.POST.get("action")
        if action == "rename":
            return self._rename(request)
        if action == "leave":
            return self._leave(request)
        return HttpResponseBadRequest()

    def _rename(self, request: HttpRequest) -> HttpResponse:
        self.principal.require(Permission.ORG_MANAGE)
        form = OrganizationRenameForm(request.POST)
        if form.is_valid():
            try:
                org = organization_update(principal=self.principal, name=form.cleaned_data["name"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("The organization is now called %(org)s.") % {"org": org.name})
                return redirect("accounts:org_settings", org_slug=org.slug)
        return self.render_to_response(self.get_context_data(rename_form=form))

    def _leave(self, request: HttpRequest) -> HttpResponse:
        membership = membership_get(user=signed_in_user(request), org_slug=self.org.slug)
        try:
            member_remove(principal=self.principal, membership=membership)
        except ValidationError as error:
            return self.render_to_response(self.get_context_data(leave_error=error_text(error)))
        forget_last_org(request, self.org.slug)
        messages.success(request, _("You left %(org)s.") % {"org": self.org.name})
        return redirect("accounts:home")
