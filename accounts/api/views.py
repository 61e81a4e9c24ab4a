"""REST API v1: thin views over the same selectors and services as the dashboard.

Each view authenticates a bearer key into `request.auth` (a `Principal` with channel `api`), reads
or writes through a selector or service (which check the scope, the role and the tenancy rule),
and serializes. Errors become JSON in `accounts.api.exceptions`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import resolve
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.api.parsers import SafeJSONParser
from accounts.api.throttling import ApiKeyRateThrottle
from accounts.audit.selectors import AuditFilters, audit_event_list
from accounts.content.models import Project
from accounts.content.selectors import (
    document_get,
    document_list,
    project_get,
    project_get_for_documents,
    project_list,
)
from accounts.content.services import (
    document_create,
    document_delete,
    document_update,
    project_create,
    project_set_archived,
    project_update,
)
from accounts.core.authentication import BearerAuthentication
from accounts.core.pagination import CursorPage, InvalidCursor, KeysetPaginator
from accounts.core.permissions import TOKEN_SCOPES
from accounts.core.principal import Principal
from accounts.orgs.models import Membership
from accounts.orgs.selectors import member_get, member_get_by_email, member_list
from accounts.users.models import User
from apikeys.selectors import apikey_get_current

documents_paginator: KeysetPaginator[Any] = KeysetPaginator(
    salt="api.documents", ordering=("-updated_at", "-id")
)
audit_paginator: KeysetPaginator[Any] = KeysetPaginator(salt="api.audit", ordering=("-created_at", "-id"))

_ERRORS = {
    400: OpenApiResponse(description=_("Invalid fields (see `fields`), or a bad cursor.")),
    401: OpenApiResponse(description=_("Missing, malformed, unknown, expired or revoked key.")),
    403: OpenApiResponse(
        description=_("The key lacks a scope (`insufficient_scope`) or its member the role (`forbidden`).")
    ),
    404: OpenApiResponse(description=_("Not found, or not in this key's organization or project.")),
    429: OpenApiResponse(description=_("Rate limited; see Retry-After.")),
}


def _errors(*extra: int) -> dict[int, OpenApiResponse]:
    """The error responses every endpoint can give, plus `extra` (400 where there is input)."""
    return {code: _ERRORS[code] for code in sorted({401, 403, 404, 429, *extra})}


def _scope(scope: str) -> str:
    return f"Scope: `{scope}`."


class ApiView(APIView):
    """Bearer key in, JSON out, rate limited per key."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ApiKeyRateThrottle]
    # JSON only: no browsable HTML pages (a bearer-only API cannot sign a browser in), no form posts.
    renderer_classes = [JSONRenderer]
    parser_classes = [SafeJSONParser]

    @property
    def principal(self) -> Principal:
        return self.request.auth  # type: ignore[return-value]

    def query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def body(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


def _page(paginator: KeysetPaginator[Any], queryset: Any, params: dict[str, Any]) -> CursorPage[Any]:
    try:
        return paginator.paginate(queryset, cursor=params.get("cursor"), page_size=params["limit"])
    except InvalidCursor:
        raise serializers.ValidationError(
            {"cursor": [_("This cursor is not valid. Start again without it.")]}
        ) from None


def _page_data(page: CursorPage[Any], item: type[serializers.Serializer]) -> dict[str, Any]:
    return {
        "results": item(page.items, many=True).data,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


class WhoamiApi(ApiView):
    @extend_schema(
        summary="Who am I",
        description="The key itself, its organization, the member it acts for and what it may do. Any scope.",
        responses={200: s.WhoamiOut, **_errors()},
        tags=["key"],
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        key = apikey_get_current(principal=principal)
        data = {
            "user": s.UserOut(principal.user).data,
            "organization": s.OrganizationOut(principal.organization).data,
            "role": principal.role,
            "scopes": [scope.value for scope in TOKEN_SCOPES if scope.value in (principal.scopes or ())],
            "effective_scopes": [scope.value for scope in TOKEN_SCOPES if principal.can(scope)],
            "project": key.project.slug if key.project else None,
            "key": s.KeyOut(key).data,
            "tool_policy": {"preset": key.policy.preset.value, "tools": key.policy.describe()},
        }
        return Response(data)


class ProjectsApi(ApiView):
    @extend_schema(
        summary="List projects",
        description=_scope("projects:read")
        + " Active projects by name; archived ones with include_archived.",
        parameters=[s.ProjectQueryIn],
        responses={200: s.ProjectListItemOut(many=True), **_errors()},
        tags=["projects"],
    )
    def get(self, request: Request) -> Response:
        params = self.query(s.ProjectQueryIn)
        projects = project_list(principal=self.principal, include_archived=params["include_archived"])
        return Response(s.ProjectListItemOut(projects, many=True).data)

    @extend_schema(
        summary="Create a project",
        description=_scope("projects:write") + " Not possible with a key restricted to one project.",
        request=s.ProjectCreateIn,
        responses={201: s.ProjectOut, **_errors(400)},
        tags=["projects"],
    )
    def post(self, request: Request) -> Response:
        data = self.body(s.ProjectCreateIn)
        project = project_create(
            principal=self.principal,
            name=data["name"],
            slug=data.get("slug", ""),
            description=data["description"],
        )
        return Response(s.ProjectOut(project).data, status=201)


class ProjectApi(ApiView):
    @extend_schema(
        summary="Get a project",
        description=_scope("projects:read"),
        responses={200: s.ProjectOut, **_errors()},
        tags=["projects"],
    )
    def get(self, request: Request, project_slug: str) -> Response:
        project = project_get(principal=self.principal, slug=project_slug)
        return Response(s.ProjectOut(project).data)

    @extend_schema(
        summary="Update a project",
        description=_scope("projects:write") + " Send only the fields to change.",
        request=s.ProjectUpdateIn,
        responses={200: s.ProjectOut, **_errors(400)},
        tags=["projects"],
    )
    def patch(self, request: Request, project_slug: str) -> Response:
        project = project_get(principal=self.principal, slug=project_slug)
        data = self.body(s.ProjectUpdateIn)
        project = project_update(
            principal=self.principal,
            project=project,
            name=data.get("name", project.name),
            slug=data.get("slug", project.slug),
            description=data.get("description", project.description),
        ).object
        return Response(s.ProjectOut(project).data)


class ProjectArchiveApi(ApiView):
    archived = True

    @extend_schema(
        summary="Archive a project",
        description=_scope("projects:write") + " Its documents become read-only. Idempotent.",
        request=None,
        responses={200: s.ProjectOut, **_errors()},
        tags=["projects"],
    )
    def post(self, request: Request, project_slug: str) -> Response:
        project = project_get(principal=self.principal, slug=project_slug)
        project = project_set_archived(principal=self.principal, project=project, archived=self.archived)
        return Response(s.ProjectOut(project).data)


class ProjectUnarchiveApi(ProjectArchiveApi):
    archived = False

    @extend_schema(
        summary="Unarchive a project",
        description=_scope("projects:write") + " Its documents become writable again. Idempotent.",
        request=None,
        responses={200: s.ProjectOut, **_errors()},
        tags=["projects"],
    )
    def post(self, request: Request, project_slug: str) -> Response:
        return super().post(request, project_slug)


class DocumentsApi(ApiView):
    @extend_schema(
        summary="List or search a project's documents",
        description=_scope("documents:read") + " Most recently updated first, cursor-paginated.",
        parameters=[s.DocumentQueryIn],
        responses={200: s.DocumentPageOut, **_errors(400)},
        tags=["documents"],
    )
    def get(self, request: Request, project_slug: str) -> Response:
        params = self.query(s.DocumentQueryIn)
        project = project_get_for_documents(principal=self.principal, slug=project_slug)
        documents = document_list(principal=self.principal, project=project, query=params.get("q", ""))
        page = _page(documents_paginator, documents.select_related("project"), params)
        return Response(_page_data(page, s.DocumentSummaryOut))

    @extend_schema(
        summary="Create a document",
        description=_scope("documents:write") + " Not in an archived project.",
        request=s.DocumentCreateIn,
        responses={201: s.DocumentOut, **_errors(400)},
        tags=["documents"],
    )
    def post(self, request: Request, project_slug: str) -> Response:
        project = project_get_for_documents(principal=self.principal, slug=project_slug, write=True)
        data = self.body(s.DocumentCreateIn)
        document = document_create(
            principal=self.principal, project=project, title=data["title"], body=data["body"]
        )
        return Response(s.DocumentOut(document).data, status=201)


class DocumentApi(ApiView):
    @extend_schema(
        summary="Get a document",
        description=_scope("documents:read"),
        responses={200: s.DocumentOut, **_errors()},
        tags=["documents"],
    )
    def get(self, request: Request, document_id: str) -> Response:
        document = document_get(principal=self.principal, public_id=document_id)
        return Response(s.DocumentOut(document).data)

    @extend_schema(
        summary="Update a document",
        description=_scope("documents:write") + " Send only the fields to change.",
        request=s.DocumentUpdateIn,
        responses={200: s.DocumentOut, **_errors(400)},
        tags=["documents"],
    )
    def patch(self, request: Request, document_id: str) -> Response:
        document = document_get(principal=self.principal, public_id=document_id)
        data = self.body(s.DocumentUpdateIn)
        document = document_update(
            principal=self.principal,
            document=document,
            title=data.get("title", document.title),
            body=data.get("body", document.body),
        ).object
        return Response(s.DocumentOut(document).data)

    @extend_schema(
        summary="Delete a document",
        description=_scope("documents:write"),
        responses={204: None, **_errors(400)},
        tags=["documents"],
    )
    def delete(self, request: Request, document_id: str) -> Response:
        document = document_get(principal=self.principal, public_id=document_id)
        document_delete(principal=self.principal, document=document)
        return Response(status=204)


class MembersApi(ApiView):
    @extend_schema(
        summary="List members",
        description=_scope("members:read") + " Owners first.",
        responses={200: s.MemberOut(many=True), **_errors()},
        tags=["members"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.MemberOut(member_list(principal=self.principal), many=True).data)


class MemberApi(ApiView):
    @extend_schema(
        summary="Get a member",
        description=_scope("members:read"),
        responses={200: s.MemberOut, **_errors()},
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        return Response(s.MemberOut(member_get(principal=self.principal, public_id=member_id)).data)


class AuditEventsApi(ApiView):
    @extend_schema(
        summary="List audit events",
        description=_scope("audit:read")
        + " Newest first, cursor-paginated. A key restricted to one project sees that project's events.",
        parameters=[s.AuditQueryIn],
        responses={200: s.AuditEventPageOut, **_errors(400)},
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        params = self.query(s.AuditQueryIn)
        principal = self.principal
        filters = AuditFilters(
            action=params.get("action", ""),
            channel=params.get("channel", ""),
            credential_id=params.get("credential", ""),
            since=params.get("since"),
            until=params.get("until"),
            project=_filter_project(principal, params["project"]) if "project" in params else None,
            actor=_filter_actor(principal, params["actor"]) if "actor" in params else None,
        )
        events = audit_event_list(principal=principal, filters=filters)
        return Response(_page_data(_page(audit_paginator, events, params), s.AuditEventOut))


# An unknown filter value is a mistake in the request (400 on its field), not a missing resource (404).


def _filter_project(principal: Principal, slug: str) -> Project:
    try:
        return project_get(principal=principal, slug=slug)
    except Project.DoesNotExist:
        raise serializers.ValidationError(
            {"project": [_("No project of this organization has this slug.")]}
        ) from None


def _filter_actor(principal: Principal, email: str) -> User:
    try:
        return member_get_by_email(principal=principal, email=email).user
    except Membership.DoesNotExist:
        raise serializers.ValidationError(
            {"actor": [_("No member of this organization has this email.")]}
        ) from None


def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any path under /api/v1/ that names no endpoint: the API's JSON 404, not the dashboard's HTML page."""
    description = gettext("No API endpoint at this address.")
    # The catch-all takes the place of APPEND_SLASH's redirect here (which would drop a POST's body).
    if not request.path.endswith("/") and resolve(request.path + "/").url_name != "not_found":
        description = gettext("No API endpoint at this address. Did you mean %(path)s?") % {
            "path": request.path + "/"
        }
    body = {"error": "not_found", "error_description": description}
    return JsonResponse(body, status=404, json_dumps_params={"ensure_ascii": False})
