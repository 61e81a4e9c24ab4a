"""The members page: the list, the role matrix, invitations sent, role changes and removals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from accounts.core.permissions import Permission, Role, can_assign_role, role_allows
from accounts.core.web import (
    add_service_errors,
    or_404,
)
from accounts.orgs.forms import (
    MemberInviteForm,
    MemberRoleForm,
)
from accounts.orgs.mixins import OrgViewMixin
from accounts.orgs.models import Membership
from accounts.orgs.selectors import (
    invitation_get,
    invitation_list_pending,
    member_get,
    member_list,
)
from accounts.orgs.services import (
    invitation_revoke,
    member_invite,
    member_remove,
    member_role_change,
)
from accounts.orgs.views.organizations import error_text, forget_last_org


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
        memberships = list(member_list(principal=principal))
        owners = sum(m.role == Role.OWNER for m in memberships)
        rows = [self._row(m, manage=manage, sole_owner=owners == 1) for m in memberships]
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

    def _row(self, membership: Membership, *, manage: bool, sole_owner: bool) -> MemberRow:
        actor = self.principal.role
        is_self = membership.user_id == self.principal.person.pk
        assignable = [r for r in Role if can_assign_role(actor_role=actor, current=membership.role, new=r)]
        if sole_owner and membership.role == Role.OWNER:
            # The last owner's role cannot change (member_role_change refuses): no dropdown to try.
            assignable = [Role.OWNER] if Role.OWNER in assignable else []
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
                invited = member_invite(
                    principal=self.principal, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                # The link is a secret: it goes by email only, never into messages or the page.
                invitation = invited.invitation
                if invited.email_sent is False:
                    messages.warning(
                        request,
                        _(
                            "The invitation to %(email)s was created, but the email could not be sent. "
                            "Try again later: inviting the same address again replaces this invitation."
                        )
                        % {"email": invitation.email},
                    )
                elif invited.replaced_roles:
                    # Inviting a pending address again replaces that invitation, role included: say so.
                    messages.success(
                        request,
                        _(
                            "Invitation sent to %(email)s as %(role)s. It replaces the pending invitation "
                            "as %(old_role)s, whose link no longer works."
                        )
                        % {
                            "email": invitation.email,
                            "role": Role(invitation.role).label,
                            "old_role": invited.replaced_roles[-1].label,
                        },
                    )
                else:
                    messages.success(
                        request,
                        _("Invitation sent to %(email)s as %(role)s.")
                        % {"email": invitation.email, "role": Role(invitation.role).label},
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
            messages.error(request, error_text(error))
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
            messages.error(request, error_text(error))
            return self.back()
        if membership.user_id == request.user.pk:
            forget_last_org(request, self.org.slug)
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
