"""URLs of organizations, members and invitations; included in the `accounts` namespace (accounts/urls.py)."""

from django.urls import path

from accounts.orgs.views import invitations, members
from accounts.orgs.views import organizations as orgs

urlpatterns = [
    # Where `/` leads: the last organization, the first one, or creating one.
    path("", orgs.HomeView.as_view(), name="home"),
    path("organizations/new/", orgs.OrganizationCreateView.as_view(), name="org_create"),
    # The signed-in person's own pending invitations (after signing up or in), and joining from there.
    path("invitations/", invitations.InvitationListView.as_view(), name="invitations"),
    # Before the token pattern, which "accept" would match. The emailed link redirects to it.
    path("invitations/accept/", invitations.InvitationAcceptView.as_view(), name="invitation"),
    path(
        "invitations/<str:invitation_id>/join/",
        invitations.InvitationJoinView.as_view(),
        name="invitation_join",
    ),
    path("invitations/<str:token>/", invitations.InvitationLinkView.as_view(), name="invitation_accept"),
    path("orgs/<slug:org_slug>/", orgs.OrganizationHomeView.as_view(), name="org_home"),
    path("orgs/<slug:org_slug>/settings/", orgs.OrganizationSettingsView.as_view(), name="org_settings"),
    path("orgs/<slug:org_slug>/members/", members.MemberListView.as_view(), name="members"),
    path("orgs/<slug:org_slug>/members/invite/", members.MemberInviteView.as_view(), name="member_invite"),
    path(
        "orgs/<slug:org_slug>/members/<str:member_id>/role/",
        members.MemberRoleView.as_view(),
        name="member_role",
    ),
    path(
        "orgs/<slug:org_slug>/members/<str:member_id>/remove/",
        members.MemberRemoveView.as_view(),
        name="member_remove",
    ),
    path(
        "orgs/<slug:org_slug>/invitations/<str:invitation_id>/revoke/",
        members.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
]
