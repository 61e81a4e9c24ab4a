"""The API keys pages, mounted at /orgs/<org_slug>/keys/ in config/urls.py."""

from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("", views.ApiKeyListView.as_view(), name="list"),
    path("new/", views.ApiKeyCreateView.as_view(), name="create"),
    path("<str:key_id>/", views.ApiKeyDetailView.as_view(), name="detail"),
    path("<str:key_id>/roll/", views.ApiKeyRollView.as_view(), name="roll"),
    path("<str:key_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="revoke"),
]
