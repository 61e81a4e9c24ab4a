from django.urls import path

from accounts.views import audit, auth, connect, content, orgs

app_name = "accounts"

urlpatterns = [
    # Signing in and the account (accounts/views/auth.py)
    path("", auth.HomeView.as_view(), name="home"),
    path("signup/", auth.SignupView.as_view(), name="signup"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Organizations, members, invitations (accounts/views/orgs.py)
    path("organizations/new/", orgs.OrganizationCreateView.as_view(), name="org_create"),
    # Before the token pattern, which "accept" would match. The emailed link redirects to it.
    path("invitations/accept/", orgs.InvitationAcceptView.as_view(), name="invitation"),
    path("invitations/<str:token>/", orgs.InvitationLinkView.as_view(), name="invitation_accept"),
    path("orgs/<slug:org_slug>/", orgs.OrganizationHomeView.as_view(), name="org_home"),
    path("orgs/<slug:org_slug>/settings/", orgs.OrganizationSettingsView.as_view(), name="org_settings"),
    path("orgs/<slug:org_slug>/members/", orgs.MemberListView.as_view(), name="members"),
    path("orgs/<slug:org_slug>/members/invite/", orgs.MemberInviteView.as_view(), name="member_invite"),
    path(
        "orgs/<slug:org_slug>/members/<str:member_id>/role/",
        orgs.MemberRoleView.as_view(),
        name="member_role",
    ),
    path(
        "orgs/<slug:org_slug>/members/<str:member_id>/remove/",
        orgs.MemberRemoveView.as_view(),
        name="member_remove",
    ),
    path(
        "orgs/<slug:org_slug>/invitations/<str:invitation_id>/revoke/",
        orgs.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    # Projects and documents (accounts/views/content.py)
    path("orgs/<slug:org_slug>/projects/", content.ProjectListView.as_view(), name="projects"),
    path("orgs/<slug:org_slug>/projects/new/", content.ProjectCreateView.as_view(), name="project_create"),
    path(
        "orgs/<slug:org_slug>/projects/<slug:project_slug>/",
        content.ProjectDetailView.as_view(),
        name="project_detail",
    ),
    path(
        "orgs/<slug:org_slug>/projects/<slug:project_slug>/edit/",
        content.ProjectUpdateView.as_view(),
        name="project_edit",
    ),
    path(
        "orgs/<slug:org_slug>/projects/<slug:project_slug>/archive/",
        content.ProjectArchiveView.as_view(),
        name="project_archive",
    ),
    path(
        "orgs/<slug:org_slug>/projects/<slug:project_slug>/documents/new/",
        content.DocumentCreateView.as_view(),
        name="document_create",
    ),
    path(
        "orgs/<slug:org_slug>/documents/<str:document_id>/",
        content.DocumentDetailView.as_view(),
        name="document_detail",
    ),
    path(
        "orgs/<slug:org_slug>/documents/<str:document_id>/edit/",
        content.DocumentUpdateView.as_view(),
        name="document_edit",
    ),
    path(
        "orgs/<slug:org_slug>/documents/<str:document_id>/delete/",
        content.DocumentDeleteView.as_view(),
        name="document_delete",
    ),
    # How AI clients connect (accounts/views/connect.py)
    path("orgs/<slug:org_slug>/connect/", connect.ConnectView.as_view(), name="connect"),
    # Audit log (accounts/views/audit.py)
    path("orgs/<slug:org_slug>/audit/", audit.AuditLogView.as_view(), name="audit"),
    path("orgs/<slug:org_slug>/audit/export.<str:fmt>", audit.AuditExportView.as_view(), name="audit_export"),
]
