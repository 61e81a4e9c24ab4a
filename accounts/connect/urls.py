"""URLs of the Connect page; included in the `accounts` namespace (accounts/urls.py)."""

from django.urls import path

from accounts.connect import views as connect

urlpatterns = [
    path("orgs/<slug:org_slug>/connect/", connect.ConnectView.as_view(), name="connect"),
]
