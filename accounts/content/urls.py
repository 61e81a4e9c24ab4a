"""URLs of projects and documents; included in the `accounts` namespace (accounts/urls.py)."""

from django.urls import path

from accounts.content import views as content

urlpatterns = [
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
]
