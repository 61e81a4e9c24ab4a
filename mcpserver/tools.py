"""The MCP tools: small typed functions over the same selectors and services as the dashboard and REST API.

Each is registered by `@org_tool` (mcpserver/registry.py), which supplies the principal from the
bearer token and applies scopes, error mapping and audit. Descriptions are written for a model
choosing a tool; argument descriptions say where a value comes from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field

from accounts import selectors, services
from accounts.models import AuditEvent, Document, Membership, Project
from accounts.pagination import KeysetPaginator
from accounts.permissions import Permission
from accounts.principal import Principal
from mcpserver.registry import org_tool

T = TypeVar("T")

# Arguments

SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
ProjectSlug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=SLUG_PATTERN,
        description="The project's slug, e.g. 'handbook' (see list_projects).",
    ),
]
ProjectFilter = Annotated[
    str | None, Field(max_length=50, pattern=SLUG_PATTERN, description="Only this project's slug.")
]
DocumentId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=SLUG_PATTERN,
        description="The document's id, e.g. 'doc_…' (see list_documents or search_documents).",
    ),
]
Cursor = Annotated[
    str | None,
    Field(
        max_length=512, description="next_cursor of the previous page, unchanged; omit for the first page."
    ),
]
Limit = Annotated[int, Field(ge=1, le=100, description="How many items per page (1-100).")]
ProjectName = Annotated[str, Field(min_length=1, max_length=100, description="The project's display name.")]
ProjectDescription = Annotated[
    str, Field(max_length=2000, description="A short description of what the project holds (plain text).")
]
DocumentTitle = Annotated[str, Field(min_length=1, max_length=200, description="The document's title.")]
DocumentBody = Annotated[str, Field(max_length=200_000, description="The document's full text, in Markdown.")]

# Results

NextCursor = Annotated[
    str | None, Field(description="Pass as cursor to get the next page; null on the last page.")
]


class OrganizationRef(BaseModel):
    slug: str
    name: str


class WhoAmI(BaseModel):
    user_id: str
    email: str
    name: str
    organization: OrganizationRef
    role: str = Field(description="owner, admin, member or viewer")
    scopes: list[str] = Field(description="What this token may do (its role may allow less).")
    credential_kind: str = Field(description="api_key or oauth")
    credential_id: str
    credential_label: str
    project: str | None = Field(
        description="The only project this token can see, if it is restricted to one."
    )


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


class DocumentSummary(BaseModel):
    id: str
    project: str = Field(description="The project's slug.")
    title: str
    length: int = Field(description="Length of the body in characters.")
    updated_at: datetime
    uri: str = Field(description="The document as an MCP resource.")

    @classmethod
    def fields_of(cls, document: Document, project_slug: str) -> dict[str, Any]:
        return {
            "id": document.public_id,
            "project": project_slug,
            "title": document.title,
            "length": len(document.body),
            "updated_at": document.updated_at,
            "uri": document_uri(project_slug, document.public_id),
        }


class DocumentItem(DocumentSummary):
    updated_by: str | None = Field(description="Email of the last editor, if the account still exists.")


class DocumentPage(BaseModel):
    documents: list[DocumentItem]
    next_cursor: NextCursor


class SearchHit(DocumentSummary):
    snippet: str = Field(description="Text around the first match.")


class SearchResults(BaseModel):
    documents: list[SearchHit]


class DocumentOut(DocumentSummary):
    body: str = Field(description="The full text, in Markdown.")
    created_at: datetime

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            **DocumentSummary.fields_of(document, document.project.slug),
            body=document.body,
            created_at=document.created_at,
        )


class Deleted(BaseModel):
    deleted: bool
    id: str


class MemberItem(BaseModel):
    id: str
    email: str
    name: str
    role: str
    joined_at: datetime


class MemberPage(BaseModel):
    members: list[MemberItem]
    next_cursor: NextCursor


class AuditEventItem(BaseModel):
    id: int
    created_at: datetime
    action: str
    channel: str
    actor: str = Field(description="Email of who acted (empty for the system).")
    credential: str = Field(description="The API key or OAuth app used, if any.")
    project: str | None
    target: str
    data: dict[str, Any]


class AuditPage(BaseModel):
    events: list[AuditEventItem]
    next_cursor: str | None = Field(description="Pass as cursor to get older events; null at the start.")


def document_uri(project_slug: str, document_id: str) -> str:
    return f"gatehouse://projects/{project_slug}/documents/{document_id}"


# Same orderings as the REST API, under their own salts: an MCP cursor is not an API cursor.
projects_paginator: KeysetPaginator[Project] = KeysetPaginator(
    salt="mcp.projects", ordering=("slug", "id"), page_size=25, max_page_size=100
)
documents_paginator: KeysetPaginator[Document] = KeysetPaginator(
    salt="mcp.documents", ordering=("-updated_at", "-id"), page_size=25, max_page_size=100
)
members_paginator: KeysetPaginator[Membership] = KeysetPaginator(
    salt="mcp.members", ordering=("id",), page_size=50, max_page_size=100
)
audit_paginator: KeysetPaginator[AuditEvent] = KeysetPaginator(
    salt="mcp.audit", ordering=("-created_at", "-id"), page_size=50, max_page_size=100
)

NO_PROJECT = "Not found: no project with that slug in this organization (see list_projects)."
NO_DOCUMENT = "Not found: no document with that id in this organization (see list_documents)."
# Tools that change an existing object look it up first (and return it), so they need both scopes.
PROJECTS_EDIT = (Permission.PROJECTS_READ, Permission.PROJECTS_WRITE)
DOCUMENTS_EDIT = (Permission.DOCUMENTS_READ, Permission.DOCUMENTS_WRITE)


def _keep(value: T | None, current: T) -> T:
    """An update tool's optional argument: the new value, or the current one when it was omitted."""
    return current if value is None else value


@org_tool(scope=None, title="Who am I", read_only=True)
def whoami(principal: Principal) -> WhoAmI:
    """Show who this connection acts as: the user, their organization and role, and what the token may do.

    Call it first when unsure which organization you are working in; every other tool acts in this
    organization only.
    """
    credential = principal.credential
    restricted = selectors.project_restricted_to(principal=principal)
    return WhoAmI(
        user_id=principal.user.public_id,
        email=principal.user.email,
        name=principal.user.name,
        organization=OrganizationRef(slug=principal.organization.slug, name=principal.organization.name),
        role=principal.role.value,
        scopes=sorted(principal.scopes or ()),
        credential_kind=credential.kind if credential else "",
        credential_id=credential.id if credential else "",
        credential_label=credential.label if credential else "",
        project=restricted.slug if restricted else None,
    )


@org_tool(scope=Permission.PROJECTS_READ, title="List projects", read_only=True)
def list_projects(
    principal: Principal, include_archived: bool = False, cursor: Cursor = None, limit: Limit = 25
) -> ProjectPage:
    """List the organization's projects by slug, with their document counts and last activity.

    Archived projects are left out unless include_archived is true. Use a project's slug with
    get_project, list_documents, search_documents or create_document.
    """
    queryset = selectors.project_list(principal=principal, include_archived=include_archived)
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
    return ProjectOut.of(selectors.project_get(principal=principal, slug=project))


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
    return ProjectOut.of(
        services.project_create(principal=principal, name=name, slug=slug, description=description)
    )


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
    current = selectors.project_get(principal=principal, slug=project)
    updated = services.project_update(
        principal=principal,
        project=current,
        name=_keep(name, current.name),
        slug=_keep(new_slug, current.slug),
        description=_keep(description, current.description),
    )
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
    current = selectors.project_get(principal=principal, slug=project)
    return ProjectOut.of(
        services.project_set_archived(principal=principal, project=current, archived=archived)
    )


@org_tool(scope=Permission.DOCUMENTS_READ, title="List documents", read_only=True, not_found=NO_PROJECT)
def list_documents(
    principal: Principal, project: ProjectSlug, cursor: Cursor = None, limit: Limit = 25
) -> DocumentPage:
    """List the documents of one project, most recently updated first (titles and ids, no bodies).

    Use get_document with an id to read a document's text.
    """
    current = selectors.project_get_for_documents(principal=principal, slug=project)
    page = documents_paginator.paginate(
        selectors.document_list(principal=principal, project=current), cursor=cursor, page_size=limit
    )
    items = [
        DocumentItem(
            **DocumentSummary.fields_of(d, current.slug),
            updated_by=d.updated_by.email if d.updated_by else None,
        )
        for d in page
    ]
    return DocumentPage(documents=items, next_cursor=page.next_cursor)


@org_tool(scope=Permission.DOCUMENTS_READ, title="Search documents", read_only=True, not_found=NO_PROJECT)
def search_documents(
    principal: Principal,
    query: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description='Words to find in titles and bodies; "a phrase" and -excluded work on PostgreSQL.',
        ),
    ],
    project: ProjectFilter = None,
    limit: Annotated[int, Field(ge=1, le=50, description="How many results (1-50), best first.")] = 10,
) -> SearchResults:
    """Search the organization's documents by words in their title or text; best matches first.

    Returns ids, titles and a snippet; read a whole document with get_document.
    """
    scope = selectors.project_get_for_documents(principal=principal, slug=project) if project else None
    hits = selectors.document_search(principal=principal, query=query, project=scope)[:limit]
    return SearchResults(
        documents=[
            SearchHit(**DocumentSummary.fields_of(d, d.project.slug), snippet=_snippet(d.body, query))
            for d in hits
        ]
    )


def _snippet(body: str, query: str, width: int = 160) -> str:
    lowered = body.lower()
    positions = [lowered.find(word.lower().strip('"-')) for word in query.split()]
    found = [p for p in positions if p >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    text = " ".join(body[start : start + width].split())
    return ("…" if start else "") + text + ("…" if start + width < len(body) else "")


@org_tool(scope=Permission.DOCUMENTS_READ, title="Read a document", read_only=True, not_found=NO_DOCUMENT)
def get_document(principal: Principal, document: DocumentId) -> DocumentOut:
    """Read one document: its title and full Markdown text, by its id."""
    return DocumentOut.of(selectors.document_get(principal=principal, public_id=document))


@org_tool(scope=Permission.DOCUMENTS_WRITE, title="Create a document", not_found=NO_PROJECT)
def create_document(
    principal: Principal, project: ProjectSlug, title: DocumentTitle, body: DocumentBody = ""
) -> DocumentOut:
    """Create a Markdown document in a project. Archived projects cannot take new documents."""
    current = selectors.project_get_for_documents(principal=principal, slug=project, write=True)
    return DocumentOut.of(
        services.document_create(principal=principal, project=current, title=title, body=body)
    )


@org_tool(
    scope=DOCUMENTS_EDIT,
    title="Update a document",
    idempotent=True,
    not_found=NO_DOCUMENT,
)
def update_document(
    principal: Principal,
    document: DocumentId,
    title: Annotated[
        str | None, Field(min_length=1, max_length=200, description="New title; omit to keep.")
    ] = None,
    body: Annotated[
        str | None,
        Field(max_length=200_000, description="New full Markdown text (replaces it); omit to keep."),
    ] = None,
) -> DocumentOut:
    """Change a document's title and/or replace its whole text. Read it first with get_document."""
    current = selectors.document_get(principal=principal, public_id=document)
    updated = services.document_update(
        principal=principal,
        document=current,
        title=_keep(title, current.title),
        body=_keep(body, current.body),
    )
    return DocumentOut.of(updated)


@org_tool(
    scope=DOCUMENTS_EDIT,
    title="Delete a document",
    destructive=True,
    not_found=NO_DOCUMENT,
)
def delete_document(principal: Principal, document: DocumentId) -> Deleted:
    """Delete a document for good (no undo; the audit log keeps its title). Ask the user before calling."""
    current = selectors.document_get(principal=principal, public_id=document)
    services.document_delete(principal=principal, document=current)
    return Deleted(deleted=True, id=document)


@org_tool(scope=Permission.MEMBERS_READ, title="List members", read_only=True)
def list_members(principal: Principal, cursor: Cursor = None, limit: Limit = 50) -> MemberPage:
    """List the organization's members: email, name and role (owner, admin, member or viewer)."""
    page = members_paginator.paginate(
        selectors.member_list(principal=principal), cursor=cursor, page_size=limit
    )
    items = [
        MemberItem(id=m.public_id, email=m.user.email, name=m.user.name, role=m.role, joined_at=m.created_at)
        for m in page
    ]
    return MemberPage(members=items, next_cursor=page.next_cursor)


@org_tool(scope=Permission.AUDIT_READ, title="List audit events", read_only=True, not_found=NO_PROJECT)
def list_audit_events(
    principal: Principal,
    action: Annotated[
        str,
        Field(max_length=64, description="Only this action, e.g. 'document.updated' or 'mcp.tool_called'."),
    ] = "",
    channel: Annotated[
        str,
        Field(max_length=8, pattern=r"^(|web|api|mcp|system)$", description="Only web, api, mcp or system."),
    ] = "",
    project: ProjectFilter = None,
    since: Annotated[
        datetime | None, Field(description="Only events at or after this ISO 8601 time.")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> AuditPage:
    """Read the organization's audit log, newest first: who did what, when, through which channel."""
    filters = selectors.AuditFilters(
        action=action,
        channel=channel,
        project=selectors.project_get(principal=principal, slug=project) if project else None,
        since=since,
    )
    page = audit_paginator.paginate(
        selectors.audit_event_list(principal=principal, filters=filters), cursor=cursor, page_size=limit
    )
    items = [
        AuditEventItem(
            id=e.pk,
            created_at=e.created_at,
            action=e.action,
            channel=e.channel,
            actor=e.actor_label,
            credential=e.credential_label,
            project=e.project.slug if e.project else None,
            target=e.target_label,
            data=e.data,
        )
        for e in page
    ]
    return AuditPage(events=items, next_cursor=page.next_cursor)
