"""MCP with a `wat_` access token obtained through the real OAuth flow (tests/oauth_flow.py).

Against `live_server_url`: `make run` in miniature (its own SQLite, seed_demo, PUBLIC_URL on its port,
so tokens are bound to its /mcp resource). These tests only read, plus the audit events reads leave.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.mcp import MODES, connect, run
from tests.support.oauth_flow import run_oauth_flow


@pytest.fixture(scope="module")
def oauth_tokens(live_server_url: str) -> dict[str, object]:
    return run_oauth_flow(
        live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD, org_slug="demo", client_name="MCP test app"
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_wat_token_works_in_both_protocol_modes(
    live_server_url: str, oauth_tokens: dict[str, object], mode: str
) -> None:
    token = str(oauth_tokens["access_token"])
    assert token.startswith("wat_")

    async def scenario() -> tuple[str, object, object]:
        async with connect(f"{live_server_url}/mcp", token, mode=mode) as client:
            whoami = await client.call_tool("whoami", {})
            projects = await client.call_tool("list_projects", {})
            return client.protocol_version, whoami, projects

    version, whoami, projects = run(scenario())
    assert version == {"auto": "2026-07-28", "legacy": "2025-11-25"}[mode]
    assert not whoami.is_error  # type: ignore[attr-defined]
    me = whoami.structured_content  # type: ignore[attr-defined]
    assert me["organization"]["slug"] == "demo"
    assert me["email"] == DEMO_EMAIL
    assert me["credential_kind"] == "oauth"
    assert me["credential_id"] == oauth_tokens["client_id"]
    assert me["credential_label"] == "MCP test app"
    assert [p["slug"] for p in projects.structured_content["projects"]] == ["handbook"]  # type: ignore[attr-defined]


def test_the_oauth_app_is_in_the_audit_event_of_each_call(
    live_server_url: str, oauth_tokens: dict[str, object]
) -> None:
    token = str(oauth_tokens["access_token"])

    async def scenario() -> list[dict[str, Any]]:
        async with connect(f"{live_server_url}/mcp", token) as client:
            await client.call_tool("get_project", {"project": "handbook"})
            # A read's event is written with the next batch, a moment after the answer.
            for _ in range(50):
                result = await client.call_tool(
                    "list_audit_events", {"channel": "mcp", "action": "mcp.tool_called", "limit": 100}
                )
                events = [
                    event
                    for event in result.structured_content["events"]  # type: ignore[index]
                    if event["data"]["tool"] == "get_project"
                ]
                if events:
                    return events
                await asyncio.sleep(0.1)
            return []

    events = run(scenario())
    assert events[0]["data"] == {"tool": "get_project", "outcome": "ok"}
    assert events[0]["credential"] == "MCP test app"
    assert events[0]["actor"] == DEMO_EMAIL


def test_a_token_without_a_scope_is_told_which_scope_to_ask_for(live_server_url: str) -> None:
    tokens = run_oauth_flow(
        live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD, org_slug="demo", scopes=["projects:read"]
    )
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "list_documents", "arguments": {}},
    }
    response = httpx.post(
        f"{live_server_url}/mcp",
        content=json.dumps(body),
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert response.status_code == 403
    assert 'scope="documents:read"' in response.headers["WWW-Authenticate"]
