"""Organizations, members and invitations: thin views over accounts.services and accounts.selectors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import FormView, TemplateView

from accounts.forms import MemberInviteForm, MemberRoleForm, OrganizationCreateForm, OrganizationRenameForm
from accounts.models import Invitation, Membership, User
from accounts.permissions import Permission, Role, can_assign_role, role_allows
from accounts.selectors import (
    invitation_get,
    invitation_list_pending,
    member_get,
    member_list,
    membership_get,
)
from accounts.services import (
    InvitationInvalid,
    invitation_accept,
    invitation_get_pending,
    invitation_revoke,
    member_invite,
    member_remove,
    member_role_change,
    organization_create,
    organization_update,
)
from accounts.views.auth import LAST_ORG_SESSION_KEY
from accounts.web import (
    OrgViewMixin,
    ServiceFormMixin,
    add_service_errors,
    client_ip,
    or_404,
    signed_in_user,
    user_agent,
)


def _forget_last_org(request: HttpRequest, slug: str) -> None:
    if request.session.get(LAST_ORG_SESSION_KEY) == slug:
        del request.session[LAST_ORG_SESSION_KEY]


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


# Organizations


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
            return self.render_to_response(self.get_context_data(leave_error=_error_text(error)))
        _forget_last_org(request, self.org.slug)
        messages.success(request, _("You left %(org)s.") % {"org": self.org.name})
        return redirect("accounts:home")


# Members


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    is_self: bool
    # The roles the signed-in person may give this member; empty when they may not change it.
    assignable_roles: list[Role]
    can_remove: bool


@dataclass(frozen=True)
class RoleSummary:
    role: Role
    summary: str | Promise  # lazy: translated when rendered, in the reader's language


ROLE_SUMMARIES = (
    RoleSummary(Role.OWNER, _("Everything an admin can do, and makes, changes or removes owners.")),
    RoleSummary(
        Role.ADMIN,
        _("Invites and manages members, changes settings, sees every API key and reads the audit log."),
    ),
    RoleSummary(Role.MEMBER, _("Creates and edits projects and documents, and their own API keys.")),
    RoleSummary(Role.VIEWER, _("Reads projects, documents and the member list.")),
)


def role_matrix() -> list[tuple[str, list[bool]]]:
    """Rows of (what, allowed per role in `Role` order), straight from the permission matrix."""
    rows = [
        (str(permission.label), [role_allows(role, permission) for role in Role]) for permission in Permission
    ]
    manage_owners = [can_assign_role(actor_role=role, current=Role.OWNER, new=Role.OWNER) for role in Role]
    rows.append((str(_("Make, change and remove owners")), manage_owners))
    return rows


class MemberListView(OrgViewMixin, TemplateView):
    """Everyone in the organization; admins and owners also invite, change roles and remove."""

    permission = Permission.MEMBERS_READ
    template_name = "accounts/orgs/member_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        principal = self.principal
        manage = principal.can(Permission.MEMBERS_MANAGE)
        rows = [self._row(membership, manage=manage) for membership in member_list(principal=principal)]
        if manage:
            kwargs.setdefault("invite_form", MemberInviteForm(actor_role=principal.role))
            kwargs.setdefault("invitations", list(invitation_list_pending(principal=principal)))
        return super().get_context_data(
            nav_section="members",
            rows=rows,
            roles=list(Role),
            role_summaries=ROLE_SUMMARIES,
            role_matrix=role_matrix(),
            invitation_ttl_days=settings.INVITATION_TTL_DAYS,
            **kwargs,
        )

    def _row(self, membership: Membership, *, manage: bool) -> MemberRow:
        actor = self.principal.role
        is_self = membership.user_id == self.principal.user.pk
        assignable = [r for r in Role if can_assign_role(actor_role=actor, current=membership.role, new=r)]
        return MemberRow(
            membership=membership,
            is_self=is_self,
            assignable_roles=assignable if manage else [],
            can_remove=manage and not is_self and membership.role in assignable,
        )


class MemberInviteView(MemberListView):
    """POST only: send an invitation; errors re-render the members page with the form."""

    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = MemberInviteForm(request.POST, actor_role=self.principal.role)
        if form.is_valid():
            try:
                invitation, _link = member_invite(
                    principal=self.principal, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                # The link is a secret: it goes by email only, never into messages or the page.
                if invitation.email_sent is False:
                    messages.warning(
                        request,
                        _(
                            "The invitation to %(email)s was created, but the email could not be sent. "
                            "Try again later: inviting the same address again replaces this invitation."
                        )
                        % {"email": invitation.email},
                    )
                else:
                    messages.success(
                        request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                    )
                return redirect("accounts:members", org_slug=self.org.slug)
        return self.render_to_response(self.get_context_data(invite_form=form))


class _MemberActionView(OrgViewMixin, View):
    """A POST-only change from the members page; it answers with a message and a redirect back."""

    permission = Permission.MEMBERS_MANAGE
    http_method_names = ["post"]

    def back(self) -> HttpResponse:
        return redirect("accounts:members", org_slug=self.org.slug)

    def member(self, public_id: str) -> Membership:
        return or_404(member_get, principal=self.principal, public_id=public_id)


class MemberRoleView(_MemberActionView):
    def post(self, request: HttpRequest, *args: Any, member_id: str, **kwargs: Any) -> HttpResponse:
        membership = self.member(member_id)
        form = MemberRoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose one of the roles offered."))
            return self.back()
        try:
            membership = member_role_change(
                principal=self.principal, membership=membership, role=form.cleaned_data["role"]
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return self.back()
        messages.success(
            request,
            _("%(person)s is now %(role)s.")
            % {"person": membership.user.display_name, "role": Role(membership.role).label},
        )
        return self.back()


class MemberRemoveView(_MemberActionView):
    def post(self, request: HttpRequest, *args: Any, member_id: str, **kwargs: Any) -> HttpResponse:
        membership = self.member(member_id)
        try:
            member_remove(principal=self.principal, membership=membership)
        except ValidationError as error:
            messages.error(request, _error_text(error))
            return self.back()
        if membership.user_id == request.user.pk:
            _forget_last_org(request, self.org.slug)
            messages.success(request, _("You left %(org)s.") % {"org": self.org.name})
            return redirect("accounts:home")
        messages.success(
            request,
            _("%(person)s was removed from %(org)s.")
            % {"person": membership.user.display_name, "org": self.org.name},
        )
        return self.back()


class InvitationRevokeView(_MemberActionView):
    def post(self, request: HttpRequest, *args: Any, invitation_id: str, **kwargs: Any) -> HttpResponse:
        invitation = or_404(invitation_get, principal=self.principal, public_id=invitation_id)
        invitation_revoke(principal=self.principal, invitation=invitation)
        messages.success(
            request,
            _("The invitation to %(email)s was revoked; its link no longer works.")
            % {"email": invitation.email},
        )
        return self.back()


# Accepting an invitation

# The invitation link's secret, kept in the session between the link and the accept page, so that the
# token leaves the address bar (and with it access logs, ?next= URLs and Referer headers) at once.
# Django's PasswordResetConfirmView does the same with its token.
INVITATION_SESSION_KEY = "_invitation_token"


def _invalid_invitation(request: HttpRequest, invalid: InvitationInvalid) -> HttpResponse:
    # Unknown: 404 like any wrong link. Used, revoked or expired: 410, it existed and is gone.
    status = 404 if invalid.reason == "unknown" else 410
    return render(request, "accounts/orgs/invitation_invalid.html", {"reason": invalid.reason}, status=status)


@method_decorator(never_cache, name="dispatch")
class InvitationLinkView(View):
    """The link from the invitation email: keep its token in the session, then show a token-free page."""

    http_method_names = ["get"]

    def get(self, request: HttpRequest, *args: Any, token: str, **kwargs: Any) -> HttpResponse:
        try:
            invitation_get_pending(token=token)
        except InvitationInvalid as invalid:
            return _invalid_invitation(request, invalid)
        request.session[INVITATION_SESSION_KEY] = token
        return redirect("accounts:invitation")


@method_decorator(never_cache, name="dispatch")
class InvitationAcceptView(TemplateView):
    """The invitation opened from its link: anyone holding it may join, signed in as anyone."""

    template_name = "accounts/orgs/invitation_accept.html"
    invitation: Invitation

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            self.invitation = invitation_get_pending(token=self.token)
        except InvitationInvalid as invalid:
            request.session.pop(INVITATION_SESSION_KEY, None)
            return _invalid_invitation(request, invalid)
        return super().dispatch(request, *args, **kwargs)

    @property
    def token(self) -> str:
        # No token: the session ended (or another browser); an empty token is an unknown invitation.
        return str(self.request.session.get(INVITATION_SESSION_KEY, ""))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        invitation = self.invitation
        here = self.request.path  # token-free, so safe in ?next=
        user = self.request.user
        context: dict[str, Any] = {
            "invitation": invitation,
            "organization": invitation.organization,
            "login_url": reverse("accounts:login") + "?" + urlencode({"next": here}),
            "signup_url": reverse("accounts:signup")
            + "?"
            + urlencode({"email": invitation.email, "next": here}),
        }
        if isinstance(user, User):  # signed in
            context["email_matches"] = user.email.lower() == invitation.email.lower()
            context["membership"] = self._membership(user)
        return super().get_context_data(**context, **kwargs)

    def _membership(self, user: User) -> Membership | None:
        try:
            return membership_get(user=user, org_slug=self.invitation.organization.slug)
        except Membership.DoesNotExist:
            return None

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        try:
            membership = invitation_accept(
                user=signed_in_user(request),
                token=self.token,
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
        except InvitationInvalid as invalid:
            request.session.pop(INVITATION_SESSION_KEY, None)
            return _invalid_invitation(request, invalid)
        request.session.pop(INVITATION_SESSION_KEY, None)
        org = self.invitation.organization
        request.session[LAST_ORG_SESSION_KEY] = org.slug
        messages.success(
            request,
            _("Welcome to %(org)s! You joined as %(role)s.")
            % {"org": org.name, "role": Role(membership.role).label},
        )
        return redirect("accounts:org_home", org_slug=org.slug)
