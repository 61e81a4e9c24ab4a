"""A key's MCP tools in the dashboard, checked from outside with the key: created read-only, then
changed tool by tool on the key's page; /mcp follows each choice from the next request."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.steps import sign_in
from tests.browser.test_api_key_journey import shown_key

pytestmark = pytest.mark.browser


def mcp(base_url: str, key: str, method: str, params: dict[str, object]) -> dict[str, object]:
    response = httpx.post(
        f"{base_url}/mcp",
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["result"]
    return result


def tool_names(base_url: str, key: str) -> list[str]:
    return [str(tool["name"]) for tool in mcp(base_url, key, "tools/list", {})["tools"]]  # type: ignore[attr-defined]


def test_a_keys_mcp_tools_chosen_and_changed(page: Page, live_server_url: str) -> None:
    name = f"Tools key {secrets.token_hex(3)}"
    sign_in(page, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    page.goto(f"{live_server_url}/orgs/demo/keys/new/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Full access").check()
    page.get_by_label("Read-only tools").check()
    page.get_by_role("button", name="Create key").click()
    key = shown_key(page)
    names = tool_names(live_server_url, key)
    assert "get_document" in names
    assert "delete_document" not in names

    page.get_by_role("link", name="I have copied the key").click()
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_test_id("tool-policy-label")).to_have_text("Read-only tools")
    page.get_by_label("Choose tool by tool").check()
    # Tool by tool starts from what the key has now (read-only): hide one read, allow one write on approval.
    page.get_by_label("list_projects").select_option("hidden")
    page.get_by_label("delete_document").select_option("approval")
    page.get_by_label("get_document").select_option("allowed")
    page.get_by_role("button", name="Save MCP tools").click()
    expect(page.locator("body")).to_contain_text("are saved")
    expect(page.get_by_test_id("tool-policy-label")).to_have_text("Choose tool by tool")

    names = tool_names(live_server_url, key)
    assert {"whoami", "get_document", "search_documents", "delete_document"} <= set(names)
    assert not {"list_projects", "create_document", "update_document"} & set(names)
    refused = mcp(
        live_server_url, key, "tools/call", {"name": "delete_document", "arguments": {"document": "doc_x"}}
    )
    assert refused["isError"] is True
    assert "needs a person's approval" in str(refused["content"])
    hidden = mcp(live_server_url, key, "tools/call", {"name": "list_projects", "arguments": {}})
    assert hidden["content"] == [{"type": "text", "text": "Unknown tool: list_projects"}]
