"""Documents as MCP resources: `gatehouse://projects/{project}/documents/{document}`, listed page by page."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ListResourcesResult, Resource

from accounts.content.models import Document
from accounts.content.selectors import document_get, document_list_all
from accounts.core.pagination import InvalidCursor, KeysetPaginator
from accounts.core.principal import Principal
from mcpserver.context import current_principal
from mcpserver.db import run_db
from mcpserver.tools.common import document_uri

DOCUMENT_TEMPLATE = "gatehouse://projects/{project}/documents/{document}"
MARKDOWN = "text/markdown"

resources_paginator: KeysetPaginator[Document] = KeysetPaginator(
    salt="mcp.resources", ordering=("-updated_at", "-id"), page_size=50, max_page_size=50
)


def document_resource_page(*, principal: Principal, cursor: str | None) -> ListResourcesResult:
    """One page of resources/list: the visible documents, most recently updated first."""
    try:
        page = resources_paginator.paginate(document_list_all(principal=principal), cursor=cursor)
    except InvalidCursor:
        raise MCPError(
            code=INVALID_PARAMS, message="Invalid cursor: pass nextCursor back unchanged."
        ) from None
    except PermissionDenied:  # a token without documents:read lists no documents
        return ListResourcesResult(resources=[])
    return ListResourcesResult(
        resources=[
            Resource(
                uri=document_uri(d.project.slug, d.public_id),
                name=d.public_id,
                title=d.title,
                description=f"Markdown document in the project “{d.project.slug}”.",
                mime_type=MARKDOWN,
                size=len(d.body.encode()),
            )
            for d in page
        ],
        next_cursor=page.next_cursor,
    )


def read_document(*, principal: Principal, project: str, document: str) -> str:
    """A document's Markdown; another organization's (or another project's) document is not found."""
    try:
        found = document_get(principal=principal, public_id=document)
    except (ObjectDoesNotExist, PermissionDenied):
        found = None
    if found is None or found.project.slug != project:
        raise ResourceNotFoundError(f"No document {document} in the project {project}.")
    return found.body


def register(server: MCPServer) -> None:
    @server.resource(
        DOCUMENT_TEMPLATE,
        name="document",
        title="Document",
        description="A Markdown document of a project in your organization (ids from list_documents).",
        mime_type=MARKDOWN,
    )
    async def document(project: str, document: str) -> str:
        return await run_db(read_document, principal=current_principal(), project=project, document=document)
