"""URLs of the OAuth authorization server (DOT's namespace) and of the Connected apps pages."""

from django.urls import path
from oauth2_provider import views as dot_views

from accounts.oauth import endpoints, introspection, registration, views

# Mounted at /oauth/ in the `oauth2_provider` namespace, which DOT reverses for its metadata.
provider_patterns = [
    path("authorize/", endpoints.ConsentView.as_view(), name="authorize"),
    path("token/", endpoints.TokenView.as_view(), name="token"),
    path("revoke/", endpoints.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", introspection.IntrospectView.as_view(), name="introspect"),
    path("register/", registration.RegisterView.as_view(), name="dcr-register"),
    path(
        "register/<str:client_id>/",
        dot_views.DynamicClientRegistrationManagementView.as_view(),
        name="dcr-register-management",
    ),
]

app_name = "oauth"

urlpatterns = [
    path("account/connected-apps/", views.ConnectedAppsView.as_view(), name="connections"),
    path("account/connected-apps/revoke/", views.ConnectedAppRevokeView.as_view(), name="connection_revoke"),
    path(
        "account/connected-apps/revoke-all/",
        views.ConnectedAppsRevokeAllView.as_view(),
        name="connections_revoke_all",
    ),
    path(
        "orgs/<slug:org_slug>/connected-apps/", views.OrgConnectedAppsView.as_view(), name="org_connections"
    ),
    path(
        "orgs/<slug:org_slug>/connected-apps/tools/",
        views.ConnectionToolsView.as_view(),
        name="connection_tools",
    ),
    path(
        "orgs/<slug:org_slug>/connected-apps/revoke/",
        views.OrgConnectedAppRevokeView.as_view(),
        name="org_connection_revoke",
    ),
]
