"""Per-request state of an MCP call, carried in context variables from the ASGI gateway to the tools.

The gateway (`mcpserver.server.McpGateway`) resolves the bearer token and sets `CURRENT_PRINCIPAL`
before the SDK sees the request; the SDK copies the context into the task that runs the handler,
and `run_db` copies it into the worker thread. Nothing in a tool's arguments or headers is
ever an identity: the organization comes from here only.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from mcp.server.mcpserver.exceptions import ToolError

from accounts.core.principal import Principal

CURRENT_PRINCIPAL: ContextVar[Principal | None] = ContextVar("gatehouse_mcp_principal", default=None)


@dataclass
class ToolCall:
    """One audited MCP request in flight (mcpserver/audit.py): how it went, and whether it left an event.

    A tool that recorded its own event (a write through a service, or a read's `mcp.tool_called`)
    marks it `audited`; a failed call sets `outcome` and `detail` for the event recorded for it.
    """

    name: str
    audited: bool = False
    outcome: str = "ok"
    detail: str = ""


CURRENT_CALL: ContextVar[ToolCall | None] = ContextVar("gatehouse_mcp_tool_call", default=None)


def current_principal() -> Principal:
    """The principal of this MCP request; a ToolError if called outside one (never a silent default)."""
    principal = CURRENT_PRINCIPAL.get()
    if principal is None:
        raise ToolError("Not authenticated.")
    return principal
