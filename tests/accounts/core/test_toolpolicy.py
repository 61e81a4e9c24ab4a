"""The tool policy itself: presets, custom policies, stored JSON, and building one from a form or command."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.core.toolpolicy import (
    CATALOGUE,
    EVERYTHING,
    READ_ONLY,
    PolicyPreset,
    ToolMode,
    ToolPolicy,
    build_tool_policy,
    configurable_tools,
    policy_change,
    tool_policy_from_names,
)
from mcpserver.registry import REGISTRY


def test_the_catalogue_knows_every_mcp_tool_and_whoami_is_never_configurable() -> None:
    assert set(CATALOGUE) == set(REGISTRY)
    assert "whoami" not in {info.name for info in configurable_tools()}
    assert CATALOGUE["get_document"].read_only
    assert not CATALOGUE["delete_document"].read_only


def test_everything_allows_every_tool_and_is_stored_as_an_empty_object() -> None:
    assert set(EVERYTHING.describe().values()) == {"allowed"}
    assert EVERYTHING.to_json() == {}
    assert ToolPolicy.from_json({}) == EVERYTHING


def test_read_only_hides_every_tool_that_writes() -> None:
    modes = READ_ONLY.describe()
    assert modes["get_document"] == modes["list_projects"] == "allowed"
    assert modes["delete_document"] == modes["create_project"] == "hidden"
    assert READ_ONLY.mode("whoami") == ToolMode.ALLOWED
    assert ToolPolicy.from_json(READ_ONLY.to_json()) == READ_ONLY


def test_a_custom_policy_lists_every_tool_and_round_trips() -> None:
    policy = build_tool_policy(
        preset="custom", modes={"get_document": "allowed", "delete_document": "approval"}
    )
    assert policy.mode("get_document") == ToolMode.ALLOWED
    assert policy.mode("delete_document") == ToolMode.APPROVAL
    assert policy.mode("list_projects") == ToolMode.HIDDEN  # not chosen: hidden
    assert set(policy.to_json()["tools"]) == {info.name for info in configurable_tools()}
    assert ToolPolicy.from_json(policy.to_json()).describe() == policy.describe()


def test_a_tool_missing_from_a_stored_custom_policy_is_hidden() -> None:
    """A tool added in a later release: fail closed."""
    policy = ToolPolicy.from_json({"preset": "custom", "tools": {"get_document": "allowed"}})
    assert policy.mode("get_document") == ToolMode.ALLOWED
    assert policy.mode("search_documents") == ToolMode.HIDDEN


@pytest.mark.parametrize(
    "stored", [["x"], {"preset": "bogus"}, {"preset": "custom", "tools": {"a": "maybe"}}]
)
def test_a_malformed_stored_policy_hides_everything(stored: object) -> None:
    policy = ToolPolicy.from_json(stored)
    assert set(policy.describe().values()) == {"hidden"}
    assert policy.mode("whoami") == ToolMode.ALLOWED


def test_an_unknown_tool_is_left_to_the_server() -> None:
    assert READ_ONLY.mode("no_such_tool") == ToolMode.ALLOWED  # the SDK answers "Unknown tool"


@pytest.mark.parametrize(
    ("preset", "modes", "message"),
    [
        ("sometimes", None, "Unknown tool policy"),
        ("custom", {"drop_database": "allowed"}, "Unknown tool: drop_database"),
        ("custom", {"whoami": "hidden"}, "Unknown tool: whoami"),
        ("custom", {"get_document": "maybe"}, "get_document"),
    ],
)
def test_build_refuses_what_it_does_not_know(preset: str, modes: dict[str, str] | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_tool_policy(preset=preset, modes=modes)


def test_names_from_a_command() -> None:
    assert tool_policy_from_names(["all"]) == EVERYTHING
    assert tool_policy_from_names(["read-only"]) == READ_ONLY
    named = tool_policy_from_names(["get_document", " list_projects "], approval=["delete_document"])
    assert named.preset == PolicyPreset.CUSTOM
    allowed = {name for name, mode in named.describe().items() if mode == "allowed"}
    assert allowed == {"get_document", "list_projects"}
    assert named.mode("delete_document") == ToolMode.APPROVAL
    on_read_only = tool_policy_from_names(["read-only"], approval=["delete_document"])
    assert on_read_only.mode("get_document") == ToolMode.ALLOWED
    assert on_read_only.mode("delete_document") == ToolMode.APPROVAL
    assert on_read_only.mode("create_document") == ToolMode.HIDDEN


def test_policy_change_names_each_tool_that_changed() -> None:
    change = policy_change(EVERYTHING, READ_ONLY)
    assert change["preset"] == "read_only"
    assert change["previous_preset"] == "all"
    assert change["tools"]["delete_document"] == {"from": "allowed", "to": "hidden"}
    assert "get_document" not in change["tools"]
