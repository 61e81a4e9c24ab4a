"""Every MCP request that touches an organization's data is audited, through one path: this middleware.

`tools/call`, `resources/read`, `prompts/get` and `completion/complete` each leave one event in the
caller's organization. A tool that writes through a service has that service's event, tagged with
the tool (mcpserver/registry.py, in the write's own transaction); a tool that only read gets its
`mcp.tool_called` event from the registry. Whatever did not leave an event by the time the SDK
answers (a failed call, a resource read, a prompt, a completion) is recorded here, with its
outcome, after the answer is computed. Events of requests that changed nothing go to the journal
of the gateway's sealer, written in batches (accounts/audit/journal.py), or are saved at once when
there is none. During a database outage the journal keeps them for its writer; an event that has to be
saved at once and cannot be is logged as lost, and a call whose own event is lost so is answered
as unavailable, never with its result unaudited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from accounts.audit.models import AuditAction, NewEvent
from accounts.audit.record import journal_or_save, read_event, save_now
from accounts.core import outage
from accounts.core.principal import Principal
from mcpserver.context import CURRENT_CALL, CURRENT_PRINCIPAL, ToolCall
from mcpserver.db import run_db
from mcpserver.outage import DatabaseUnavailable

logger = logging.getLogger(__name__)

MAX_DETAIL = 500


@dataclass(frozen=True)
class AuditedMethod:
    action: AuditAction
    # What the event says about the request: its target, from the raw JSON-RPC params.
    describe: Callable[[Mapping[str, Any]], dict[str, Any]]


def _text(value: Any, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _reference(params: Mapping[str, Any]) -> dict[str, Any]:
    ref, argument = _object(params.get("ref")), _object(params.get("argument"))
    # The argument's name, not its value: that is what someone is typing, letter by letter.
    return {"ref": _text(ref.get("name") or ref.get("uri")), "argument": _text(argument.get("name"), 64)}


METHODS: dict[str, AuditedMethod] = {
    "tools/call": AuditedMethod(AuditAction.MCP_TOOL_CALLED, lambda p: {"tool": _text(p.get("name"), 64)}),
    "resources/read": AuditedMethod(
        AuditAction.MCP_RESOURCE_READ, lambda p: {"uri": _text(p.get("uri"), 500)}
    ),
    "prompts/get": AuditedMethod(
        AuditAction.MCP_PROMPT_RENDERED,
        lambda p: {
            "prompt": _text(p.get("name"), 64),
            "arguments": sorted(p["arguments"]) if isinstance(p.get("arguments"), dict) else [],
        },
    ),
    "completion/complete": AuditedMethod(AuditAction.MCP_COMPLETION_REQUESTED, _reference),
}


def read_mcp_event(
    *, principal: Principal, action: AuditAction, data: dict[str, Any], outcome: str, detail: str = ""
) -> NewEvent:
    """The event of an MCP request that wrote none of its own (a read, a no-op, or a failure), unsaved."""
    data = {**data, "outcome": outcome}
    if detail:
        data["detail"] = detail[:MAX_DETAIL]
    return read_event(principal=principal, action=action, data=data)


class AuditedRequests:
    """`ServerMiddleware`: what the SDK answered for an audited method is recorded, unless already."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = METHODS.get(ctx.method)
        principal = CURRENT_PRINCIPAL.get()
        if method is None or principal is None:
            return await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        call = ToolCall(name=_text(params.get("name"), 64))
        token = CURRENT_CALL.set(call)
        answered = False
        try:
            result = await call_next(ctx)
            answered = True
        except MCPError as error:
            default = "invalid_request" if error.error.code == INVALID_PARAMS else "error"
            call.outcome = getattr(error, "outcome", default)
            call.detail = error.error.message
            raise
        except Exception:
            call.outcome = "error"
            raise
        finally:
            CURRENT_CALL.reset(token)
            if not call.audited:
                event = read_mcp_event(
                    principal=principal,
                    action=method.action,
                    data=method.describe(params),
                    outcome=call.outcome,
                    detail=call.detail,
                )
                if not journal_or_save(event):
                    try:
                        await run_db(save_now, event=event)
                    except outage.OUTAGE_ERRORS:
                        # Not raised over the call's own error; a result is not given out unaudited.
                        logger.error("lost the audit event of an MCP %s: database unavailable", ctx.method)
                        if answered:
                            raise DatabaseUnavailable from None
        return result
