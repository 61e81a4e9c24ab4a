"""Org-scoped MCP tools as small typed functions: tenancy, scopes, errors and audit applied in one place.

Adding a tool (see docs/mcp.md):

    @org_tool(scope=Permission.PROJECTS_READ, title="Get a project", read_only=True)
    def get_project(principal: Principal, project: ProjectSlug) -> ProjectDetail:
        \"\"\"What a model reads to decide when to call it.\"\"\"
        return ProjectDetail.of(selectors.project_get(principal=principal, slug=project))

The function is synchronous ORM code. It receives the principal resolved from the bearer token
(never from its arguments), and its other parameters become the tool's validated input schema, its
return type (a pydantic model) the output schema. `register_tools()` wraps it so that:

- `tools/list` shows it only to tokens whose scopes (and member role) allow `scope`, and the ASGI
  gateway answers a call without the scope with 403 `insufficient_scope` before it runs;
- it runs off the event loop (`run_db`; `database=False` tools, which only describe the principal,
  on the loop), inside `audit_tags(tool=…)`: a service's audit event is tagged with the tool, in the
  write's own transaction; a call that wrote no event (a read, or an edit that changed nothing) gets
  one `mcp.tool_called` event, written in a batch shortly after (accounts/audit/journal.py);
- `DoesNotExist` (another organization's object included) becomes "not found", `ValidationError` a
  tool error naming the argument, `PermissionDenied` a tool error: never a traceback; a database
  outage, the JSON-RPC internal error of mcpserver/outage.py.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from accounts.audit.models import AuditAction, NewEvent
from accounts.audit.record import audit_tags, journal_or_save, save_now
from accounts.core import outage
from accounts.core.pagination import InvalidCursor
from accounts.core.permissions import Permission
from accounts.core.principal import CredentialKind, MissingPermission, Principal
from accounts.core.toolpolicy import ToolInfo, ToolMode, register_tool
from mcpserver.audit import read_mcp_event
from mcpserver.context import CURRENT_CALL, current_principal
from mcpserver.db import run_db
from mcpserver.outage import unavailable

F = TypeVar("F", bound=Callable[..., Any])


class NotFound(ToolError):
    """A missing object; another organization's object is missing too. Audit outcome "not_found"."""

    outcome = "not_found"


class Denied(ToolError):
    """The member's role (or the credential's project restriction) does not allow it."""

    outcome = "denied"


class HiddenTool(ToolError):
    """The credential's tool policy hides the tool: answered word for word as the SDK answers an
    unknown tool (mcp.server.mcpserver.tools.tool_manager), so a caller cannot tell them apart."""

    outcome = "hidden"

    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown tool: {name}")


class ApprovalRequired(ToolError):
    """The credential's tool policy says a person must approve each call of the tool."""

    outcome = "approval_required"


class InvalidArguments(ToolError):
    """An argument failed the services' validation; nothing was changed."""

    outcome = "invalid_arguments"


@dataclass(frozen=True)
class OrgTool:
    name: str
    fn: Callable[..., Any]
    scopes: tuple[Permission, ...]
    title: str
    annotations: ToolAnnotations
    not_found: str  # what a DoesNotExist means for this tool, e.g. "No such project."
    database: bool  # False: it only reads the principal, and runs on the event loop


REGISTRY: dict[str, OrgTool] = {}


def org_tool(
    *,
    scope: Permission | tuple[Permission, ...] | None,
    title: str,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    not_found: str = "Not found: no such object in this organization.",
    database: bool = True,
    policy: bool = True,
) -> Callable[[F], F]:
    """Register a synchronous `fn(principal, **arguments)` as an org-scoped MCP tool needing `scope`.

    `scope` is every scope the tool's selectors and services check (e.g. reading a document to edit
    it needs documents:read and documents:write), so a token lacking one is told before the call.
    `policy=False`: a credential's tool policy cannot hide it (whoami, which shows that policy).
    """

    def decorator(fn: F) -> F:
        if fn.__name__ in REGISTRY:
            raise ValueError(f"MCP tool {fn.__name__!r} is registered twice")
        if "principal" not in inspect.signature(fn).parameters:
            raise TypeError(f"MCP tool {fn.__name__!r} must take a `principal` parameter")
        REGISTRY[fn.__name__] = OrgTool(
            name=fn.__name__,
            fn=fn,
            scopes=(scope,) if isinstance(scope, Permission) else tuple(scope or ()),
            title=title,
            annotations=ToolAnnotations(
                title=title,
                read_only_hint=read_only,
                destructive_hint=destructive if not read_only else False,
                idempotent_hint=idempotent or read_only,
                open_world_hint=False,
            ),
            not_found=not_found,
            database=database,
        )
        register_tool(
            ToolInfo(
                name=fn.__name__,
                title=title,
                read_only=read_only,
                scopes=tuple(s.value for s in REGISTRY[fn.__name__].scopes),
                configurable=policy,
            )
        )
        return fn

    return decorator


def tool_allowed(principal: Principal, name: str) -> bool:
    """Whether tools/list shows this tool to the principal (its scopes, its member role, its policy)."""
    tool = REGISTRY.get(name)
    return (
        tool is not None
        and all(principal.can(scope) for scope in tool.scopes)
        and principal.tool_mode(name) != ToolMode.HIDDEN
    )


def missing_scopes(principal: Principal, name: str) -> list[str]:
    """The scopes a tool needs that the principal's token does not carry (its role aside).

    None for a tool the credential's policy hides: asking for a scope would say that it exists."""
    tool = REGISTRY.get(name)
    if tool is None or principal.scopes is None or principal.tool_mode(name) == ToolMode.HIDDEN:
        return []
    return [scope.value for scope in tool.scopes if scope.value not in principal.scopes]


def enforce_tool_policy(principal: Principal, name: str) -> None:
    """The one place a credential's tool policy decides a `tools/call`, before its arguments are read.

    Hidden: the unknown-tool error. Needs approval: a tool error saying so. (The approval of a parked
    call, issue 13 item 3, plugs in here.)"""
    mode = principal.tool_mode(name)
    if mode == ToolMode.HIDDEN:
        raise HiddenTool(name)
    if mode == ToolMode.APPROVAL:
        is_key = principal.credential is not None and principal.credential.kind == CredentialKind.API_KEY
        kind, page = ("API key", "API keys") if is_key else ("connection", "Connected apps")
        raise ApprovalRequired(
            f"The tool {name} needs a person's approval for each call under this {kind}'s tool policy. "
            "Approving calls is not available yet, so it was not run. Ask the owner of this "
            f"{kind} or an organization admin to allow {name} on its page under {page} in "
            "Gatehouse, then call it again."
        )


def _validation_message(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(str(m) for m in error.messages)
    parts = []
    for field, messages in error.message_dict.items():
        text = " ".join(str(m) for m in messages)
        parts.append(text if field == "__all__" else f"Invalid argument “{field}”: {text}")
    return " ".join(parts)


def _nul_argument(arguments: dict[str, Any]) -> str | None:
    """The name of the first argument whose text holds a NUL character (never valid text), or None."""
    for name, value in arguments.items():
        if isinstance(value, str) and "\x00" in value:
            return name
    return None


def execute(*, tool: OrgTool, principal: Principal, arguments: dict[str, Any]) -> tuple[Any, NewEvent | None]:
    """Run one tool call: checks, the function, errors, audit. Returns the result, and the call's
    event if it still has to be saved (`save_now`): a read's event goes to the journal when it can."""
    if (name := _nul_argument(arguments)) is not None:
        raise InvalidArguments(f"Invalid argument “{name}”: it contains a NUL character.")
    try:
        for scope in tool.scopes:
            principal.require(scope)
        # A tool without the database writes nothing, so has no events to tag.
        tagging: AbstractContextManager[list[Any]] = (
            audit_tags(tool=tool.name) if tool.database else nullcontext([])
        )
        with tagging as recorded:
            result = tool.fn(principal=principal, **arguments)
    except ObjectDoesNotExist:
        raise NotFound(tool.not_found) from None
    except MissingPermission as error:
        missing = error.permission.value
        if principal.scopes is not None and missing not in principal.scopes:
            raise Denied(f"This token lacks the scope “{missing}”.") from None
        raise Denied(f"Your role ({principal.role.label}) does not allow “{missing}” here.") from None
    except PermissionDenied as error:
        raise Denied(str(error) or "Permission denied.") from None
    except ValidationError as error:
        raise InvalidArguments(_validation_message(error)) from None
    except InvalidCursor:
        raise InvalidArguments(
            "Invalid argument “cursor”: pass the next_cursor of a previous page unchanged, or omit it."
        ) from None
    unsaved = None
    if not recorded:  # a read, or an edit that changed nothing
        event = read_mcp_event(
            principal=principal, action=AuditAction.MCP_TOOL_CALLED, data={"tool": tool.name}, outcome="ok"
        )
        unsaved = None if journal_or_save(event) else event
    call = CURRENT_CALL.get()
    if call is not None:
        call.audited = True
    return result, unsaved


def execute_and_save(*, tool: OrgTool, principal: Principal, arguments: dict[str, Any]) -> Any:
    """`execute()` in a thread that may use the database: the event is saved here if need be."""
    result, unsaved = execute(tool=tool, principal=principal, arguments=arguments)
    if unsaved is not None:
        save_now(unsaved)
    return result


def _async_tool(tool: OrgTool) -> Callable[..., Any]:
    """An async callable with the function's signature minus `principal`, for the SDK to describe."""
    signature = inspect.signature(tool.fn, eval_str=True)
    parameters = [p for name, p in signature.parameters.items() if name != "principal"]

    async def call(**arguments: Any) -> Any:
        principal = current_principal()
        try:
            if tool.database:
                return await run_db(execute_and_save, tool=tool, principal=principal, arguments=arguments)
            result, unsaved = execute(tool=tool, principal=principal, arguments=arguments)
            if unsaved is not None:  # the journal is full: written now, in the pool
                await run_db(save_now, event=unsaved)
            return result
        except outage.OUTAGE_ERRORS as error:
            call = CURRENT_CALL.get()
            if call is not None:  # a read's event that could not be saved: the middleware queues one
                call.audited = False
            # An MCPError, which the SDK answers as such; it would wrap anything else in a tool result.
            raise unavailable(f"MCP tool {tool.name}", error) from None

    call.__name__ = tool.name
    call.__qualname__ = tool.name
    call.__doc__ = tool.fn.__doc__
    call.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return call


def register_tools(server: MCPServer, *, modules: Sequence[ModuleType]) -> None:
    """Add every `@org_tool` to the server, module by module, with its annotations and structured output."""
    names = [module.__name__ for module in modules]
    unlisted = sorted(tool.name for tool in REGISTRY.values() if tool.fn.__module__ not in names)
    if unlisted:
        raise ValueError(f"MCP tools defined outside the listed modules: {unlisted}")
    for tool in sorted(REGISTRY.values(), key=lambda tool: names.index(tool.fn.__module__)):
        server.add_tool(
            _async_tool(tool),
            name=tool.name,
            title=tool.title,
            description=inspect.cleandoc(tool.fn.__doc__ or ""),
            annotations=tool.annotations,
            structured_output=True,
        )
