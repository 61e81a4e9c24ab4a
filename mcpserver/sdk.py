"""Every use of the `mcp` SDK's private API, in this one module.

`MCPServer` answers each request with a private `_handle_<method>` coroutine that calls a public
method (`list_tools()`, `call_tool()`, `get_prompt()`, ...); Gatehouse customises those public
methods (mcpserver/server.py). One request cannot be served that way: `resources/list` is paginated
by the client's cursor, which the public `list_resources()` is never given. `PaginatedResourcesMCP`
overrides that one private handler and hands the cursor to a public hook.

`SDK_INTERNALS` lists each private name used here and `SDK_SEAMS` each private handler whose call to
a public method Gatehouse relies on; tests/mcpserver/test_sdk.py checks both against the installed
SDK, so an upgrade that renames, re-signs or reroutes one fails there, naming it, instead of
silently dropping a customisation.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ListResourcesResult, PaginatedRequestParams

# Private MCPServer methods overridden here, with the parameters they are called with.
SDK_INTERNALS: dict[str, tuple[str, ...]] = {
    "_handle_list_resources": ("self", "ctx", "params"),
}

# Private MCPServer handlers and the public method each must call for Gatehouse's override of that
# method (mcpserver/server.py) to take effect.
SDK_SEAMS: dict[str, str] = {
    "_handle_list_tools": "self.list_tools(",
    "_handle_call_tool": "self.call_tool(",
    "_handle_get_prompt": "self.get_prompt(",
}


class PaginatedResourcesMCP(MCPServer[Any]):
    """`MCPServer` whose `resources/list` pages are served by `list_resource_page(cursor)`."""

    async def _handle_list_resources(
        self, ctx: Any, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return await self.list_resource_page(params.cursor if params is not None else None)

    async def list_resource_page(self, cursor: str | None) -> ListResourcesResult:
        """One page of `resources/list`; by default every resource, on one page."""
        return ListResourcesResult(resources=await self.list_resources())
