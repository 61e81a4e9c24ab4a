"""Accepting an invitation: the emailed link, then a token-free page to join from."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from accounts.core.permissions import Role
from accounts.core.web import (
    client_ip,
    signed_in_user,
    user_agent,
)
from accounts.orgs.models import Invitation, Membership
from accounts.orgs.selectors import (
    invitation_list_for_recipient,
    membership_get,
    organization_list_for_user,
)
from accounts.orgs.services import (
    InvitationInvalid,
    InvitationNotForYou,
    invitation_accept,
    invitation_accept_as_recipient,
    invitation_check_recipient,
    invitation_get_pending,
)
from accounts.orgs.views.organizations import (
    INVITATIONS_SHOWN_SESSION_KEY,
    LAST_ORG_SESSION_KEY,
    remember_pending_invitations,
)
from accounts.users.models import User

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
    """The invitation opened from its link: its addressee, signed in with that confirmed address, may join."""

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
            "login_url": reverse("accounts:login")
            + "?"
            + urlencode({"email": invitation.email, "next": here}),
            "signup_url": reverse("accounts:signup")
            + "?"
            + urlencode({"email": invitation.email, "next": here}),
        }
        if isinstance(user, User):  # signed in
            context["membership"] = self._membership(user)
            try:
                invitation_check_recipient(user=user, invitation=invitation)
            except InvitationNotForYou as refusal:
                context["refusal"] = refusal
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
        except InvitationNotForYou:
            return self.render_to_response(self.get_context_data(), status=403)  # it says why
        request.session.pop(INVITATION_SESSION_KEY, None)
        return _welcome(request, membership)


def _welcome(request: HttpRequest, membership: Membership) -> HttpResponse:
    org = membership.organization
    remember_pending_invitations(
        request, len(invitation_list_for_recipient(user=signed_in_user(request)).values_list("pk", flat=True))
    )
    request.session[LAST_ORG_SESSION_KEY] = org.slug
    messages.success(
        request,
        _("Welcome to %(org)s! You joined as %(role)s.")
        % {"org": org.name, "role": Role(membership.role).label},
    )
    return redirect("accounts:org_home", org_slug=org.slug)


class InvitationListView(LoginRequiredMixin, TemplateView):
    """The signed-in person's pending invitations, shown after signing up or in: none gets lost."""

    template_name = "accounts/orgs/invitation_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = signed_in_user(self.request)
        invitations = list(invitation_list_for_recipient(user=user))
        self.request.session[INVITATIONS_SHOWN_SESSION_KEY] = True
        remember_pending_invitations(self.request, len(invitations))
        return super().get_context_data(
            invitations=invitations,
            has_organizations=organization_list_for_user(user=user).exists(),
            **kwargs,
        )


class InvitationJoinView(LoginRequiredMixin, View):
    """POST: accept one invitation from that list; the confirmed address stands in for the link."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, invitation_id: str, **kwargs: Any) -> HttpResponse:
        try:
            membership = invitation_accept_as_recipient(
                user=signed_in_user(request),
                public_id=invitation_id,
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
        except (InvitationInvalid, InvitationNotForYou):
            messages.error(
                request,
                _("That invitation can no longer be accepted. Ask the person who invited you for a new one."),
            )
            return redirect("accounts:invitations")
        return _welcome(request, membership)
