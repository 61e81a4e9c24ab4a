"""Prompts that fit Gatehouse's data, and completion of project slugs (and document ids) for them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, Completion, PromptReference, ResourceTemplateReference

from accounts.content.selectors import document_list, project_get_for_documents, project_list
from accounts.core.principal import Principal
from mcpserver.context import current_principal
from mcpserver.db import run_db

MAX_COMPLETIONS = 100
PROMPT_DOCUMENTS = 50


def _project_outline(*, principal: Principal, project: str) -> str:
    try:
        current = project_get_for_documents(principal=principal, slug=project)
        documents = list(document_list(principal=principal, project=current)[:PROMPT_DOCUMENTS])
    except (ObjectDoesNotExist, PermissionDenied):
        # An MCPError passes through the SDK as is: the client reads -32602 and this message, not a
        # generic "error rendering prompt".
        raise MCPError(
            code=INVALID_PARAMS, message=f"No project with the slug {project} that you can read."
        ) from None
    lines = [f"- {d.title} (id {d.public_id}, {len(d.body)} characters)" for d in documents]
    return "\n".join(
        [
            f"Project “{current.name}” (slug {current.slug}): {current.description or 'no description'}.",
            "Documents, most recently updated first:" if lines else "The project has no documents yet.",
            *lines,
        ]
    )


def complete_project_slugs(*, principal: Principal, prefix: str) -> list[str]:
    try:
        projects = project_list(principal=principal).filter(slug__startswith=prefix)
    except PermissionDenied:
        return []
    return list(projects.order_by("slug").values_list("slug", flat=True)[: MAX_COMPLETIONS + 1])


def complete_document_ids(*, principal: Principal, project: str, prefix: str) -> list[str]:
    try:
        current = project_get_for_documents(principal=principal, slug=project)
        documents = document_list(principal=principal, project=current)
    except (ObjectDoesNotExist, PermissionDenied):
        return []
    matching = documents.filter(public_id__startswith=prefix).values_list("public_id", flat=True)
    return list(matching[: MAX_COMPLETIONS + 1])


def register(server: MCPServer) -> None:
    @server.prompt(
        name="summarize_project",
        title="Summarize a project",
        description="Summarize what a project's documents say, with what is missing or out of date.",
    )
    async def summarize_project(project: str) -> str:
        outline = await run_db(_project_outline, principal=current_principal(), project=project)
        return (
            f"{outline}\n\nRead the documents with the get_document tool, then summarize the project "
            "for a newcomer: its purpose, the main points of each document, and anything that looks missing, "
            "contradictory or out of date. Cite documents by title."
        )

    @server.prompt(
        name="draft_document",
        title="Draft a document",
        description="Draft a new Markdown document for a project, consistent with the documents it has.",
    )
    async def draft_document(project: str, topic: str) -> str:
        outline = await run_db(_project_outline, principal=current_principal(), project=project)
        return (
            f"{outline}\n\nDraft a new Markdown document about: {topic}\n"
            "Read related documents first (search_documents, get_document) so the draft agrees with them. "
            "Show the draft to the user, and only after they approve it save it with create_document."
        )

    @server.completion()
    async def complete(ref: Any, argument: Any, context: Any) -> Completion | None:
        principal = current_principal()
        if not isinstance(ref, PromptReference | ResourceTemplateReference):
            return None
        if argument.name == "project":
            values = await run_db(complete_project_slugs, principal=principal, prefix=argument.value)
        elif argument.name == "document" and isinstance(ref, ResourceTemplateReference):
            project = (context.arguments or {}).get("project", "") if context is not None else ""
            values = await run_db(
                complete_document_ids, principal=principal, project=project, prefix=argument.value
            )
        else:
            return None
        return Completion(values=values[:MAX_COMPLETIONS], has_more=len(values) > MAX_COMPLETIONS)
