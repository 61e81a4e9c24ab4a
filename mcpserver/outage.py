"""A database outage inside an MCP request: a JSON-RPC internal error (-32603), never the driver's text.

Before the SDK, the gateway answers an outage met while authenticating with HTTP 503 (gateway.py).
Inside a request the SDK has accepted, the answer is JSON-RPC's: the MCP specification lists server
errors among the protocol errors (not tool results with `isError`, which are for the model to act
on), and the SDK answers a failed resource read the same way. Left to itself, the SDK would answer
an unexpected exception escaping a handler with code 0 and `str(exception)`: the driver's message,
database host and port included.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from accounts.core import outage


class DatabaseUnavailable(MCPError):
    """The JSON-RPC error of a request that met a database outage. Audit outcome "unavailable"."""

    outcome = "unavailable"

    def __init__(self) -> None:
        super().__init__(
            code=INTERNAL_ERROR, message=outage.MESSAGE, data={"retry_after": outage.RETRY_AFTER}
        )


def outage_behind(error: BaseException) -> BaseException | None:
    """The outage this exception was raised for (the SDK wraps what handlers raise), if any."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        if outage.is_outage(current):
            return current
        seen.append(current)
        current = current.__cause__ or current.__context__
    return None


def unavailable(where: str, error: BaseException) -> DatabaseUnavailable:
    """Log the outage once, with the driver's message; the error to raise instead (`from None`)."""
    outage.log_outage(where, error)
    return DatabaseUnavailable()


class DatabaseOutage:
    """`ServerMiddleware`, inside the audit middleware: an outage escaping any handler (a list, a
    prompt, a completion; the SDK's wrapping of it included) becomes `DatabaseUnavailable`. Tools and
    resource reads raise their own (mcpserver/registry.py, mcpserver/server.py): the SDK would
    otherwise turn them into a tool result, or log a second traceback."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        try:
            return await call_next(ctx)
        except DatabaseUnavailable:
            raise
        except Exception as error:
            cause = outage_behind(error)
            if cause is None:
                raise
            raise unavailable(f"MCP {ctx.method}", cause) from None
