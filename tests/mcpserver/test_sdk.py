"""mcpserver/sdk.py: the mcp SDK's private API is used there only, and still is what that module expects.

An SDK upgrade that renames, re-signs or reroutes a private handler Gatehouse relies on fails here,
naming it, instead of silently dropping a customisation (scoped tools/list, audited tools/call,
prompt errors, paginated resources/list).
"""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from mcp.server.mcpserver import MCPServer

from mcpserver import sdk
from tests.support.codebase import application_modules


def sdk_private_names() -> set[str]:
    """Private attributes of MCPServer: its methods, and the attributes its __init__ sets."""
    names = {name for name in vars(MCPServer) if name.startswith("_") and not name.startswith("__")}
    # `self._x = ...` and `self._x: T = ...` in __init__: its private state.
    names |= set(re.findall(r"self\.(_[a-z]\w*)\s*(?::[^=\n]*)?=", inspect.getsource(MCPServer.__init__)))
    return names


@pytest.mark.parametrize("name", sorted(sdk.SDK_INTERNALS))
def test_the_private_sdk_methods_overridden_still_exist_with_the_same_parameters(name: str) -> None:
    method = getattr(MCPServer, name, None)
    assert method is not None, f"mcp's MCPServer has no {name} any more: update mcpserver/sdk.py"
    parameters = tuple(inspect.signature(method).parameters)
    assert parameters == sdk.SDK_INTERNALS[name], (
        f"mcp's MCPServer.{name} now takes {parameters}, mcpserver/sdk.py expects "
        f"{sdk.SDK_INTERNALS[name]}: update the override"
    )


@pytest.mark.parametrize("name", sorted(sdk.SDK_SEAMS))
def test_the_sdk_still_routes_requests_through_the_public_methods_gatehouse_overrides(name: str) -> None:
    handler = getattr(MCPServer, name, None)
    assert handler is not None, f"mcp's MCPServer has no {name} any more: see mcpserver/sdk.py"
    call = sdk.SDK_SEAMS[name]
    assert call in inspect.getsource(handler), (
        f"mcp's MCPServer.{name} no longer calls {call}...): Gatehouse's override of that method "
        "(mcpserver/server.py) would be skipped; see mcpserver/sdk.py"
    )


def test_sdk_internals_are_used_in_mcpserver_sdk_only() -> None:
    private = sdk_private_names()
    assert {"_handle_call_tool", "_prompt_manager", "_tool_manager"} <= private  # the finder works
    uses = []
    for module, path in application_modules().items():
        if module == "mcpserver.sdk":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                uses.append(f"{module}:{node.lineno} .{node.attr}")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in private:
                uses.append(f"{module}:{node.lineno} def {node.name}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mcp"):
                private_parts = [part for part in (node.module or "").split(".") if part.startswith("_")]
                private_names = [alias.name for alias in node.names if alias.name.startswith("_")]
                if private_parts or private_names:
                    uses.append(f"{module}:{node.lineno} from {node.module} import ...")
    assert not uses, f"the mcp SDK's private API is used outside mcpserver/sdk.py: {uses}"
