"""REST API v1, mounted at /api/v1/."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import schema, views

__all__ = ["schema"]  # imported for its OpenAPI extension, which registers itself

app_name = "api"

urlpatterns = [
    path("whoami/", views.WhoamiApi.as_view(), name="whoami"),
    path("projects/", views.ProjectsApi.as_view(), name="projects"),
    path("projects/<slug:project_slug>/", views.ProjectApi.as_view(), name="project"),
    path("projects/<slug:project_slug>/archive/", views.ProjectArchiveApi.as_view(), name="project_archive"),
    path(
        "projects/<slug:project_slug>/unarchive/",
        views.ProjectUnarchiveApi.as_view(),
        name="project_unarchive",
    ),
    path("projects/<slug:project_slug>/documents/", views.DocumentsApi.as_view(), name="documents"),
    path("documents/<str:document_id>/", views.DocumentApi.as_view(), name="document"),
    path("members/", views.MembersApi.as_view(), name="members"),
    path("members/<str:member_id>/", views.MemberApi.as_view(), name="member"),
    path("audit-events/", views.AuditEventsApi.as_view(), name="audit_events"),
    # The OpenAPI 3 schema, and Swagger UI to read and try it, served from our own static files. (Not Redoc:
    # its standalone bundle loads a logo from the vendor's CDN.)
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's own script from a URL instead of inline: CSP allows no inline
    # script. Swagger UI styles its widgets inline, which this page's policy allows.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
    # Last: every other address under /api/v1/ answers in JSON too.
    re_path(r"^(?P<path>.*)$", views.not_found, name="not_found"),
]
