"""Project tools: list, get, create, update, archive."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from accounts.content.models import Project
from accounts.content.selectors import project_get, project_list
from accounts.content.services import project_create, project_set_archived, project_update
from accounts.core.pagination import KeysetPaginator
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from mcpserver.registry import org_tool
from mcpserver.tools.common import NO_PROJECT, SLUG_PATTERN, Cursor, Limit, NextCursor, ProjectSlug, keep_or

ProjectName = Annotated[str, Field(min_length=1, max_length=100, description="The project's display name.")]


ProjectDescription = Annotated[
    str, Field(max_length=2000, description="A short description of what the project holds (plain text).")
]


class ProjectOut(BaseModel):
    slug: str
    name: str
    description: str
    archived: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectOut:
        return cls(
            slug=project.slug,
            name=project.name,
            description=project.description,
            archived=project.is_archived,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )


class ProjectItem(ProjectOut):
    document_count: int
    last_activity_at: datetime


class ProjectPage(BaseModel):
    projects: list[ProjectItem]
    next_cursor: NextCursor


# Same orderings as the REST API, under their own salts: an MCP cursor is not an API cursor.
projects_paginator: KeysetPaginator[Project] = KeysetPaginator(
    salt="mcp.projects", ordering=("slug", "id"), page_size=25, max_page_size=100
)


# Tools that change an existing object look it up first (and return it), so they need both scopes.
PROJECTS_EDIT = (Permission.PROJECTS_READ, Permission.PROJECTS_WRITE)


@org_tool(scope=Permission.PROJECTS_READ, title="List projects", read_only=True)
def list_projects(
    principal: Principal, include_archived: bool = False, cursor: Cursor = None, limit: Limit = 25
) -> ProjectPage:
    """List the organization's projects by slug, with their document counts and last activity.

    Archived projects are left out unless include_archived is true. Use a project's slug with
    get_project, list_documents, search_documents or create_document.
    """
    queryset = project_list(principal=principal, include_archived=include_archived)
    page = projects_paginator.paginate(queryset, cursor=cursor, page_size=limit)
    items = [
        ProjectItem(
            **ProjectOut.of(p).model_dump(),
            document_count=p.document_count,  # type: ignore[attr-defined]
            last_activity_at=p.last_activity_at,  # type: ignore[attr-defined]
        )
        for p in page
    ]
    return ProjectPage(projects=items, next_cursor=page.next_cursor)


@org_tool(scope=Permission.PROJECTS_READ, title="Get a project", read_only=True, not_found=NO_PROJECT)
def get_project(principal: Principal, project: ProjectSlug) -> ProjectOut:
    """Get one project's name, description and whether it is archived, by its slug."""
    return ProjectOut.of(project_get(principal=principal, slug=project))


@org_tool(scope=Permission.PROJECTS_WRITE, title="Create a project")
def create_project(
    principal: Principal,
    name: ProjectName,
    slug: Annotated[
        str,
        Field(
            max_length=50,
            pattern=r"^[-a-zA-Z0-9_]*$",  # SLUG_PATTERN, or empty
            description="Optional URL name (letters, digits, - and _); made from the name when empty.",
        ),
    ] = "",
    description: ProjectDescription = "",
) -> ProjectOut:
    """Create a new project in the organization. Fails if the slug is already used by another project."""
    return ProjectOut.of(project_create(principal=principal, name=name, slug=slug, description=description))


@org_tool(
    scope=PROJECTS_EDIT,
    title="Update a project",
    idempotent=True,
    not_found=NO_PROJECT,
)
def update_project(
    principal: Principal,
    project: ProjectSlug,
    name: Annotated[
        str | None, Field(min_length=1, max_length=100, description="New name; omit to keep.")
    ] = None,
    new_slug: Annotated[
        str | None,
        Field(min_length=1, max_length=50, pattern=SLUG_PATTERN, description="New slug; omit to keep."),
    ] = None,
    description: Annotated[
        str | None, Field(max_length=2000, description="New description; omit to keep.")
    ] = None,
) -> ProjectOut:
    """Rename a project, change its slug or its description. Only the fields given change."""
    current = project_get(principal=principal, slug=project)
    updated = project_update(
        principal=principal,
        project=current,
        name=keep_or(name, current.name),
        slug=keep_or(new_slug, current.slug),
        description=keep_or(description, current.description),
    ).object
    return ProjectOut.of(updated)


@org_tool(
    scope=PROJECTS_EDIT,
    title="Archive or unarchive a project",
    idempotent=True,
    not_found=NO_PROJECT,
)
def archive_project(
    principal: Principal,
    project: ProjectSlug,
    archived: Annotated[bool, Field(description="true to archive, false to restore.")] = True,
) -> ProjectOut:
    """Archive a project (its documents become read-only; it leaves the default list), or restore it."""
    current = project_get(principal=principal, slug=project)
    return ProjectOut.of(project_set_archived(principal=principal, project=current, archived=archived))
