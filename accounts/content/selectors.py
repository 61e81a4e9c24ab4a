"""Reads of projects and documents, always through the principal (`visible_to`)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, F, Max, Q, QuerySet
from django.db.models.functions import Coalesce, Greatest, Lower

from accounts.content.models import Document, Project
from accounts.core.permissions import Permission
from accounts.core.principal import Principal


def project_list(*, principal: Principal, include_archived: bool = False) -> QuerySet[Project]:
    """Projects the principal can see, active first, with document counts and last activity."""
    principal.require(Permission.PROJECTS_READ)
    queryset: QuerySet[Project] = Project.objects.visible_to(principal)
    if not include_archived:
        queryset = queryset.filter(archived_at__isnull=True)
    return queryset.annotate(
        document_count=Count("documents"),
        # Coalesce first: SQLite's GREATEST is NULL when any argument is (a project with no documents).
        last_activity_at=Greatest("updated_at", Coalesce(Max("documents__updated_at"), "updated_at")),
    ).order_by(F("archived_at").asc(nulls_first=True), Lower("name"), "id")  # PostgreSQL sorts NULLs last


def project_choices(*, principal: Principal) -> QuerySet[Project]:
    """Active projects by name, for a dropdown: no counts, no joins."""
    principal.require(Permission.PROJECTS_READ)
    return (
        Project.objects.visible_to(principal)
        .filter(archived_at__isnull=True)
        .only("id", "organization_id", "slug", "name")
        .order_by(Lower("name"), "id")
    )


def project_get(*, principal: Principal, slug: str) -> Project:
    """One visible project by slug; another organization's project is DoesNotExist."""
    principal.require(Permission.PROJECTS_READ)
    return Project.objects.visible_to(principal).get(slug=slug)


def project_restricted_to(*, principal: Principal) -> Project | None:
    """The one project a restricted credential can see (no scope needed: it describes the token).

    The resolver loaded it with the credential, in the same query: no query here."""
    project = principal.project
    return project if project is not None and project.organization_id == principal.organization.pk else None


def project_get_for_documents(*, principal: Principal, slug: str, write: bool = False) -> Project:
    """A visible project by slug, reached for its documents: a documents scope suffices, not projects:read."""
    principal.require(Permission.DOCUMENTS_WRITE if write else Permission.DOCUMENTS_READ)
    return Project.objects.visible_to(principal).get(slug=slug)


def document_list(*, principal: Principal, project: Project, query: str = "") -> QuerySet[Document]:
    """Documents of one visible project, most recently updated first."""
    principal.require(Permission.DOCUMENTS_READ)
    queryset = Document.objects.visible_to(principal).filter(project_id=project.pk)
    if query:
        queryset = queryset.filter(Q(title__icontains=query) | Q(body__icontains=query))
    return queryset.select_related("updated_by").order_by("-updated_at", "-id")


def document_get(*, principal: Principal, public_id: str) -> Document:
    principal.require(Permission.DOCUMENTS_READ)
    return (
        Document.objects.visible_to(principal)
        .select_related("project", "created_by", "updated_by")
        .get(public_id=public_id)
    )


def document_list_all(*, principal: Principal) -> QuerySet[Document]:
    """Every visible document of the organization (all visible projects), most recently updated first."""
    principal.require(Permission.DOCUMENTS_READ)
    return Document.objects.visible_to(principal).select_related("project").order_by("-updated_at", "-id")


def document_search(
    *, principal: Principal, query: str, project: Project | None = None
) -> QuerySet[Document]:
    """Visible documents matching `query`, best first: PostgreSQL full-text search, else a substring match."""
    principal.require(Permission.DOCUMENTS_READ)
    queryset = Document.objects.visible_to(principal).select_related("project")
    if project is not None:
        queryset = queryset.filter(project_id=project.pk)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        # Titles weigh more than bodies; websearch syntax ("quoted phrase", -excluded, or).
        vector = SearchVector("title", weight="A", config="english") + SearchVector(
            "body", weight="B", config="english"
        )
        search = SearchQuery(query, search_type="websearch", config="english")
        return (
            queryset.annotate(search=vector, rank=SearchRank(vector, search))
            .filter(search=search)
            .order_by("-rank", "-updated_at", "-id")
        )
    matches = Q()
    for word in query.split():
        matches &= Q(title__icontains=word) | Q(body__icontains=word)
    return queryset.filter(matches).order_by("-updated_at", "-id")
