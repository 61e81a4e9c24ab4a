"""The shape of the code base, checked: no import cycles, dependencies pointing one way, no oversized module.

These are the rules docs/architecture.md states; each test names what broke them. (That the mcp SDK's
private API is touched in mcpserver/sdk.py only is tests/mcpserver/test_sdk.py.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from tests.support.codebase import application_modules

MAX_MODULE_LINES = 450


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(tree: ast.AST, known: set[str]) -> Iterator[str]:
    """The application modules an AST imports, at any depth (functions too), outside TYPE_CHECKING."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (m for child in node.orelse for m in imported_modules(child, known))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from a.b import c` imports a.b.c when c is a module, else a.b.
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in known:
                    yield full
                elif node.module in known:
                    yield node.module
        yield from imported_modules(node, known)


def import_graph() -> dict[str, set[str]]:
    modules = application_modules()
    known = set(modules)
    return {
        name: set(imported_modules(ast.parse(path.read_text()), known)) - {name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle or a knot of them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_finder_sees_function_level_imports_and_skips_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from accounts.core import principal\n"
        "if TYPE_CHECKING:\n"
        "    from accounts.orgs.models import Organization\n"
        "def f():\n"
        "    from accounts.oauth.selectors import consent_projects\n"
    )
    known = {"accounts.core.principal", "accounts.orgs.models", "accounts.oauth.selectors", "accounts.core"}
    found = set(imported_modules(ast.parse(source), known))
    assert found == {"accounts.core.principal", "accounts.oauth.selectors"}


def test_no_import_cycles() -> None:
    found = cycles(import_graph())
    assert not found, f"import cycles between application modules: {found}"


def test_apikeys_depends_on_accounts_core_never_the_reverse() -> None:
    graph = import_graph()
    reverse = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.startswith("accounts.core")
        for target in targets
        if not target.startswith("accounts.core")
    )
    assert not reverse, f"accounts.core must not depend on the domains or apps built on it: {reverse}"
    into_apikeys = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        # The REST API and management commands compose the apps (the API's whoami describes its key,
        # seed_demo makes the demo key); no domain of accounts may.
        if module.startswith("accounts") and not module.startswith(("accounts.api", "accounts.management"))
        for target in targets
        if target.startswith(("apikeys", "mcpserver"))
    )
    assert not into_apikeys, f"accounts must not import apikeys or mcpserver: {into_apikeys}"


@pytest.mark.parametrize("module", sorted(application_modules()))
def test_no_application_module_is_over_the_size_limit(module: str) -> None:
    lines = len(application_modules()[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines; split it by what it does"
