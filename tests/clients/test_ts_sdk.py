"""The official TypeScript SDK (@modelcontextprotocol/sdk 1.32.2) against a real Gatehouse, through
tests/clients/ts_client.mjs: with an API key, and through the SDK's OAuth (PRM discovery, DCR, PKCE S256,
consent in `$BROWSER` by signing in and submitting the real form, loopback callback, token)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.clients.fake_browser import FakeBrowser
from tests.support import node
from tests.support.servers import Gatehouse, free_port

pytestmark = pytest.mark.clients


def ts_client(gatehouse: Gatehouse, *arguments: str, home: Path, **env: str) -> dict[str, Any]:
    completed = subprocess.run(
        [node.NODE, node.TS_CLIENT, gatehouse.mcp_url, *arguments],
        cwd=node.CLIENTS,
        env=node.node_env(home, **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return dict(json.loads(completed.stdout))


def test_typescript_sdk_with_an_api_key(gatehouse: Gatehouse, tmp_path: Path) -> None:
    result = ts_client(gatehouse, "--key", home=tmp_path, GATEHOUSE_API_KEY=gatehouse.api_key)

    assert result["server"]["name"] == "gatehouse"
    assert result["tools"][:2] == ["whoami", "list_projects"]
    assert len(result["tools"]) == 14
    assert not result["whoami_is_error"]
    assert not result["projects_is_error"]
    assert result["whoami"]["organization"] == {"slug": "demo", "name": "Demo"}
    assert result["whoami"]["credential_kind"] == "api_key"
    assert [p["slug"] for p in result["projects"]["projects"]] == ["handbook"]
    assert result["oauth"] is None


def test_typescript_sdk_through_oauth(
    gatehouse: Gatehouse, tmp_path: Path, fake_browser: FakeBrowser
) -> None:
    result = ts_client(
        gatehouse, "--oauth", str(free_port()), home=tmp_path, BROWSER=str(fake_browser.command)
    )

    oauth = result["oauth"]
    visits = fake_browser.visits()
    assert len(visits) == 1, visits
    assert "error" not in visits[0], visits[0]["error"]
    assert oauth["authorize_urls"] == [visits[0]["authorize_url"]]
    sent = parse_qs(urlsplit(oauth["authorize_urls"][0]).query)
    assert sent["client_id"] == [oauth["client_id"]]  # registered by the SDK (DCR) a moment before
    assert sent["code_challenge_method"] == ["S256"]
    assert sent["resource"] == [gatehouse.mcp_url]
    assert oauth["callback_keys"] == ["code", "iss", "state"]
    assert oauth["callback_iss"] == gatehouse.url
    assert (oauth["access_token_prefix"], oauth["refresh_token_prefix"]) == ("wat_", "wrt_")
    assert result["whoami"]["organization"]["slug"] == "demo"
    assert result["whoami"]["credential_kind"] == "oauth"
    assert result["whoami"]["credential_id"] == oauth["client_id"]
    assert [p["slug"] for p in result["projects"]["projects"]] == ["handbook"]
    # The connection the person allowed is the one the SDK used: it shows up for the demo organization.
    with httpx.Client(base_url=gatehouse.url, timeout=30) as api:
        events = api.get(
            "/api/v1/audit-events/",
            params={"action": "oauth.consent_granted"},
            headers={"Authorization": f"Bearer {gatehouse.api_key}"},
        )
    assert events.status_code == 200, events.text
    assert oauth["client_id"] in events.text
