"""Document tools: list, search, read, create, update, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from accounts.content.models import Document
from accounts.content.selectors import document_get, document_list, document_search, project_get_for_documents
from accounts.content.services import document_create, document_delete, document_update
from accounts.core.pagination import KeysetPaginator
from accounts.core.permissions import Permission
from accounts.core.principal import Principal
from mcpserver.registry import org_tool
from mcpserver.tools.common import (
    NO_DOCUMENT,
    NO_PROJECT,
    Cursor,
    DocumentId,
    Limit,
    NextCursor,
    ProjectFilter,
    ProjectSlug,
    document_uri,
    keep_or,
)

DocumentTitle = Annotated[str, Field(min_length=1, max_length=200, description="The document's title.")]


DocumentBody = Annotated[str, Field(max_length=200_000, description="The document's full text, in Markdown.")]


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


documents_paginator: KeysetPaginator[Document] = KeysetPaginator(
    salt="mcp.documents", ordering=("-updated_at", "-id"), page_size=25, max_page_size=100
)


DOCUMENTS_EDIT = (Permission.DOCUMENTS_READ, Permission.DOCUMENTS_WRITE)


@org_tool(scope=Permission.DOCUMENTS_READ, title="List documents", read_only=True, not_found=NO_PROJECT)
def list_documents(
    principal: Principal, project: ProjectSlug, cursor: Cursor = None, limit: Limit = 25
) -> DocumentPage:
    """List the documents of one project, most recently updated first (titles and ids, no bodies).

    Use get_document with an id to read a document's text.
    """
    current = project_get_for_documents(principal=principal, slug=project)
    page = documents_paginator.paginate(
        document_list(principal=principal, project=current), cursor=cursor, page_size=limit
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
    scope = project_get_for_documents(principal=principal, slug=project) if project else None
    hits = document_search(principal=principal, query=query, project=scope)[:limit]
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
    return DocumentOut.of(document_get(principal=principal, public_id=document))


@org_tool(scope=Permission.DOCUMENTS_WRITE, title="Create a document", not_found=NO_PROJECT)
def create_document(
    principal: Principal, project: ProjectSlug, title: DocumentTitle, body: DocumentBody = ""
) -> DocumentOut:
    """Create a Markdown document in a project. Archived projects cannot take new documents."""
    current = project_get_for_documents(principal=principal, slug=project, write=True)
    return DocumentOut.of(document_create(principal=principal, project=current, title=title, body=body))


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
    current = document_get(principal=principal, public_id=document)
    updated = document_update(
        principal=principal,
        document=current,
        title=keep_or(title, current.title),
        body=keep_or(body, current.body),
    ).object
    return DocumentOut.of(updated)


@org_tool(
    scope=DOCUMENTS_EDIT,
    title="Delete a document",
    destructive=True,
    not_found=NO_DOCUMENT,
)
def delete_document(principal: Principal, document: DocumentId) -> Deleted:
    """Delete a document for good (no undo; the audit log keeps its title). Ask the user before calling."""
    current = document_get(principal=principal, public_id=document)
    document_delete(principal=principal, document=current)
    return Deleted(deleted=True, id=document)
