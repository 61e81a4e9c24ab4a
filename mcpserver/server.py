"""The MCP server: Gatehouse's tools, resources and prompts on the SDK's `MCPServer` (mcp 2.3).

`build_mcp_app()` returns the ASGI app config/asgi.py sends `/mcp` and its metadata to: the gateway
(mcpserver/gateway.py: HTTP checks, authentication, rate limits, scope step-up) in front of the SDK's
stateless, JSON-answering streamable-HTTP app. `GatehouseMCP` is the SDK server with what depends on
the caller: `tools/list` shows a token only the tools its scopes allow, `resources/list` pages the
documents it may read, and every `tools/call` is audited, its failures answered as tool errors that
say what went wrong (never a traceback). The SDK is used through its public API, except for the one
private handler in mcpserver/sdk.py.

The SDK app is stateless with JSON responses, so any worker of any host can answer any request, for
2025-06-18 and 2025-11-25 clients (initialize handshake) and 2026-07-28 clients (no handshake).
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from django.conf import settings
from mcp.server.auth.routes import create_protected_resource_routes
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedResourceError, UnexpectedToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    InputRequiredResult,
    ListResourcesResult,
    TextContent,
)
from mcp_types import Tool as MCPTool
from pydantic import ValidationError as PydanticValidationError
from starlette.applications import Starlette
from starlette.routing import Route

from accounts.core.permissions import SCOPE_ORDER
from mcpserver import auth, prompts, resources, tools
from mcpserver.audit import AuditedRequests
from mcpserver.context import CURRENT_CALL, current_principal
from mcpserver.db import run_db
from mcpserver.gateway import MCP_PATH, McpGateway
from mcpserver.outage import DatabaseOutage, outage_behind, unavailable
from mcpserver.registry import enforce_tool_policy, register_tools, tool_allowed
from mcpserver.resources import document_resource_page
from mcpserver.sdk import PaginatedResourcesMCP

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Gatehouse holds one organization's projects and their markdown documents. Every call acts for the "
    "organization and member behind your token: there is no organization argument. Projects are named by "
    "slug (e.g. 'handbook'), documents by public id ('doc_…'). Start with list_projects, then "
    "list_documents or search_documents, then get_document. Lists are paginated: pass next_cursor back "
    "as cursor to continue."
)


class GatehouseMCP(PaginatedResourcesMCP):
    """MCPServer whose lists depend on the caller and whose every tool call is audited."""

    async def list_tools(self) -> list[MCPTool]:
        principal = current_principal()
        return [tool for tool in await super().list_tools() if tool_allowed(principal, tool.name)]

    async def list_resource_page(self, cursor: str | None) -> ListResourcesResult:
        return await run_db(document_resource_page, principal=current_principal(), cursor=cursor)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> GetPromptResult | InputRequiredResult:
        # The SDK turns an unknown prompt or a missing argument into an internal error; they are the
        # client's mistake, so say so (-32602) with the reason.
        prompt = next((p for p in await self.list_prompts() if p.name == name), None)
        if prompt is None:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}")
        given = arguments or {}
        missing = sorted(a.name for a in prompt.arguments or [] if a.required and a.name not in given)
        if missing:
            raise MCPError(code=INVALID_PARAMS, message=f"Missing required arguments: {', '.join(missing)}")
        return await super().get_prompt(name, arguments, context)

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        try:
            return await super().read_resource(uri, context)
        except UnexpectedResourceError as error:
            # The SDK's answer would be a generic -32603 "Error reading resource"; say why.
            cause = outage_behind(error)
            if cause is not None:
                raise unavailable("MCP resources/read", cause) from None
            raise

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Any = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            enforce_tool_policy(current_principal(), name)
            return await super().call_tool(name, arguments, context)
        except MCPError:
            raise
        except ToolError as error:
            detail = _tool_error_message(error)
            if isinstance(error, UnexpectedToolError):
                logger.error("MCP tool %r failed", name, exc_info=error)
                outcome = "failed"
            elif isinstance(error.__cause__, PydanticValidationError):
                outcome = "invalid_arguments"
            else:  # ours (NotFound, Denied, HiddenTool…) say which; "Unknown tool" is an error
                outcome = str(getattr(error, "outcome", "") or getattr(error.__cause__, "outcome", "error"))
            call = CURRENT_CALL.get()
            if call is not None:  # the audit middleware records the failure with this outcome
                call.outcome, call.detail = outcome, detail
            return CallToolResult(content=[TextContent(type="text", text=detail)], is_error=True)


def _tool_error_message(error: ToolError) -> str:
    """A message for the model: which argument and why; never a traceback."""
    cause = error.__cause__
    if isinstance(error, UnexpectedToolError):
        return "The tool failed unexpectedly. The error was logged; try again later."
    if isinstance(cause, PydanticValidationError):
        parts = []
        for item in cause.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in item["loc"]) or "arguments"
            parts.append(f"Invalid argument “{where}”: {item['msg']}.")
        return " ".join(parts)
    if isinstance(cause, ToolError):  # ours, raised inside the tool: the SDK prefixed it
        return str(cause)
    return str(error)


def _version() -> str:
    """The project version from pyproject.toml, reported to clients as serverInfo.version."""
    with (Path(settings.BASE_DIR) / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def create_mcp_server() -> GatehouseMCP:
    """The MCP server with every tool, resource, prompt and completion registered."""
    server = GatehouseMCP(
        "gatehouse",
        title="Gatehouse",
        version=_version(),
        instructions=INSTRUCTIONS,
        website_url=settings.PUBLIC_URL,
        log_level="WARNING",  # MCPServer calls logging.basicConfig; Django's LOGGING already set things up
        # Outermost first: an outage is answered as such (-32603) and audited with that outcome.
        middleware=[AuditedRequests(), DatabaseOutage()],
    )
    register_tools(server, modules=tools.MODULES)
    resources.register(server)
    prompts.register(server)
    return server


def _prm_app() -> Starlette:
    """RFC 9728 metadata of the /mcp resource, at the path form and the root form."""
    routes = create_protected_resource_routes(
        resource_url=settings.MCP_RESOURCE_URL,  # type: ignore[arg-type]
        authorization_servers=[settings.PUBLIC_URL],  # type: ignore[list-item]
        scopes_supported=list(SCOPE_ORDER),
        resource_name="Gatehouse MCP",
    )
    endpoint = routes[0].endpoint
    routes.append(Route(auth.PRM_ROOT_PATH, endpoint=endpoint, methods=["GET", "OPTIONS"]))
    return Starlette(routes=routes)


def build_mcp_app() -> McpGateway:
    """The ASGI app for /mcp and its metadata; call once per process (the session manager runs once)."""
    server = create_mcp_server()
    sdk_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.MCP_MAX_BODY_BYTES,
        # Host and Origin are checked by the gateway, against ALLOWED_HOSTS like the rest of the site.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return McpGateway(sdk_app, _prm_app())
