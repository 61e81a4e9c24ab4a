"""Item 11: reading a document as a resource, rendering a prompt and completing an argument are audited,
like a tool call, through the same path, in the caller's organization."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference

from accounts.audit.models import AuditAction
from accounts.models import AuditEvent
from tests.support.mcp import Tenant, connect, run


def _events(tenant: Tenant, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_org(tenant.org).filter(action=action).order_by("seq"))


def test_a_resource_read_is_audited_with_its_uri(
    mcp_url: str, acme: Tenant, globex: Tenant, flush_audit: Callable[[], int]
) -> None:
    uri = f"gatehouse://projects/handbook/documents/{acme.document.public_id}"
    foreign = f"gatehouse://projects/handbook/documents/{globex.document.public_id}"

    async def scenario() -> None:
        async with connect(mcp_url, acme.key) as client:
            await client.read_resource(uri)
            with contextlib.suppress(MCPError):
                await client.read_resource(foreign)

    run(scenario())
    flush_audit()  # reads' events are written in batches
    read, refused = _events(acme, AuditAction.MCP_RESOURCE_READ)
    assert (read.data["uri"], read.data["outcome"], read.channel) == (uri, "ok", "mcp")
    assert (refused.data["uri"], refused.data["outcome"]) == (foreign, "invalid_request")
    assert read.credential_kind == "api_key"
    assert _events(globex, AuditAction.MCP_RESOURCE_READ) == []  # nothing lands in the other tenant's log


def test_a_prompt_and_a_completion_are_audited(
    mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]
) -> None:
    async def scenario() -> Any:
        async with connect(mcp_url, acme.key) as client:
            await client.get_prompt("draft_document", {"project": "handbook", "topic": "secret plans"})
            return await client.complete(
                PromptReference(type="ref/prompt", name="summarize_project"),
                {"name": "project", "value": "ha"},
            )

    run(scenario())
    flush_audit()  # reads' events are written in batches
    [prompt] = _events(acme, AuditAction.MCP_PROMPT_RENDERED)
    assert prompt.data == {"prompt": "draft_document", "arguments": ["project", "topic"], "outcome": "ok"}
    assert "secret plans" not in str(prompt.data)  # what was typed is the client's, not the log's
    [completion] = _events(acme, AuditAction.MCP_COMPLETION_REQUESTED)
    assert completion.data == {"ref": "summarize_project", "argument": "project", "outcome": "ok"}


def test_an_unknown_prompt_is_audited_as_refused(
    mcp_url: str, acme: Tenant, flush_audit: Callable[[], int]
) -> None:
    async def scenario() -> None:
        async with connect(mcp_url, acme.key) as client:
            with contextlib.suppress(MCPError):
                await client.get_prompt("no_such_prompt", {})

    run(scenario())
    flush_audit()  # reads' events are written in batches
    [event] = _events(acme, AuditAction.MCP_PROMPT_RENDERED)
    assert event.data["outcome"] == "invalid_request"
    assert "Unknown prompt" in event.data["detail"]
