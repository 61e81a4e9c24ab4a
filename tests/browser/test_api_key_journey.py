"""An API key's life in the dashboard, checked from outside with the key itself: created, used on the
REST API and on /mcp, rolled (both keys work during the overlap), revoked (the next request is 401)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.steps import sign_in

pytestmark = pytest.mark.browser


def rest(base_url: str, key: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/v1/projects/", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def mcp_whoami(base_url: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/mcp",
        headers={
            "Authorization": f"Bearer {key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}},
        },
        timeout=30,
    )


def shown_key(page: Page) -> str:
    """The plaintext on the page shown once after creating or rolling a key."""
    expect(page.get_by_test_id("new-key")).to_be_visible()
    key = page.get_by_label("API key").input_value()
    assert key.startswith("sk-")
    return key


def hint(key: str) -> str:
    return f"sk-…{key[-4:]}"


def key_row(page: Page, key: str) -> Locator:
    """The row of the API keys table for this key (by the hint in its Key column)."""
    return page.get_by_role("row").filter(has=page.locator("code.key-hint", has_text=hint(key)))


def test_api_key_created_used_rolled_and_revoked(page: Page, live_server_url: str) -> None:
    name = f"Journey key {secrets.token_hex(3)}"
    sign_in(page, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    page.goto(f"{live_server_url}/orgs/demo/projects/")
    page.get_by_role("link", name="API keys").click()

    # Created: full access, 30 days.
    page.get_by_role("link", name="Create API key").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Full access").check()
    page.get_by_label("30 days").check()
    page.get_by_role("button", name="Create key").click()
    first = shown_key(page)

    # Used: the REST API and MCP answer as the demo organization, and the key's id is the credential.
    projects = rest(live_server_url, first)
    assert projects.status_code == 200, projects.text
    assert [p["slug"] for p in projects.json()] == ["handbook"]
    whoami = mcp_whoami(live_server_url, first)
    assert whoami.status_code == 200, whoami.text
    me = whoami.json()["result"]["structuredContent"]
    assert (me["organization"]["slug"], me["credential_kind"], me["credential_label"]) == (
        "demo",
        "api_key",
        hint(first),
    )
    page.get_by_role("link", name="I have copied the key").click()
    row = key_row(page, first)
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Active")

    # Rolled, keeping the old key for an hour: both work until then.
    row.get_by_role("link", name=f"Roll… {name}").click()
    page.get_by_label("1 hour").check()
    page.get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("heading", name="Key rolled: here is the new one")).to_be_visible()
    second = shown_key(page)
    assert second != first
    assert rest(live_server_url, second).status_code == 200
    assert rest(live_server_url, first).status_code == 200
    page.get_by_role("link", name="I have copied the key").click()
    expect(key_row(page, first)).to_contain_text(f"Replaced by {hint(second)}")

    # Revoked: the new key, then the old one; each is refused from its next request, on both doors.
    for key in (second, first):
        key_row(page, key).get_by_role("link", name=f"Revoke… {name}").click()
        page.get_by_role("button", name="Revoke key").click()
        refused = rest(live_server_url, key)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_token"
        assert mcp_whoami(live_server_url, key).status_code == 401
    page.get_by_role("link", name="Revoked and expired").click()
    for key in (first, second):
        expect(key_row(page, key)).to_contain_text("Revoked")
