"""Done-when test of issue 4: the official MCP Python SDK connects to Gatehouse by OAuth, end to end.

Gatehouse runs under uvicorn on loopback (tests/live.py). The SDK's `OAuthClientProvider` does
discovery (401 → protected-resource metadata → authorization-server metadata), dynamic registration,
PKCE S256, the token exchange and a refresh. The "browser" in between is an httpx2 client that signed
in through /login/ and submits the consent form with its session cookie and CSRF token: no
auto-approve switch and no test hook exist in the product.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support.oauth_flow import MemoryStorage, aconsent, asign_in, public_client

REDIRECT_URI = "http://127.0.0.1:33419/callback"


async def _flow(base_url: str) -> dict[str, Any]:
    storage = MemoryStorage()
    callback: dict[str, str] = {}
    seen_authorize_urls: list[str] = []
    async with httpx2.AsyncClient(timeout=30) as browser:
        await asign_in(browser, base_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)

        async def redirect_handler(authorization_url: str) -> None:
            seen_authorize_urls.append(authorization_url)
            callback.update(await aconsent(browser, authorization_url, org_slug="demo"))

        async def callback_handler() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(
                code=callback["code"], state=callback.get("state"), iss=callback.get("iss")
            )

        provider = public_client(
            mcp_url=f"{base_url}/mcp",
            name="SDK e2e client",
            redirect_uri=REDIRECT_URI,
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
            async with Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client:  # type: ignore[arg-type]
                first = await client.call_tool("list_projects", {})
            # Force the access token to count as expired: the provider must refresh before the next call.
            provider.context.token_expiry_time = time.time() - 1
            async with Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client:  # type: ignore[arg-type]
                second = await client.call_tool("list_projects", {})
    async with httpx2.AsyncClient(timeout=30) as plain:
        stale = await plain.post(
            f"{base_url}/mcp",
            headers={
                "Authorization": f"Bearer {storage.history[0].access_token}",
                "Accept": "application/json",
            },
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        )
    return {
        "first": first,
        "second": second,
        "storage": storage,
        "callback": callback,
        "authorize_urls": seen_authorize_urls,
        "stale_status": stale.status_code,
    }


def test_mcp_sdk_oauth_flow_against_live_server(live_server_url: str) -> None:
    # In a thread of its own: a session-scoped fixture (Playwright's sync API) may already run a loop here.
    with ThreadPoolExecutor(max_workers=1) as executor:
        result = executor.submit(asyncio.run, _flow(live_server_url)).result(timeout=120)

    # One consent, with PKCE S256 and the MCP resource (RFC 8707); the redirect carried state and iss.
    assert len(result["authorize_urls"]) == 1
    query = parse_qs(urlsplit(result["authorize_urls"][0]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["resource"] == [f"{live_server_url}/mcp"]
    assert result["callback"]["iss"] == live_server_url
    assert result["callback"]["state"] == query["state"][0]

    # Token, then a refresh that rotated both tokens; both calls reached the tool as the demo member.
    history = result["storage"].history
    assert len(history) == 2
    assert history[0].access_token.startswith("wat_")
    assert history[0].refresh_token.startswith("wrt_")
    assert history[1].access_token != history[0].access_token
    assert history[1].refresh_token != history[0].refresh_token
    assert not result["first"].is_error
    assert not result["second"].is_error
    # The rotated-away access token no longer works.
    assert result["stale_status"] == 401


def test_one_issuer_in_both_metadata_documents(live_server_url: str) -> None:
    """RFC 8414 (Django) and RFC 9728 (the MCP app) name the same issuer, string for string."""
    with httpx2.Client(timeout=30) as client:
        authorization_server = client.get(f"{live_server_url}/.well-known/oauth-authorization-server").json()
        resource = client.get(f"{live_server_url}/.well-known/oauth-protected-resource/mcp").json()

    assert authorization_server["issuer"] == live_server_url
    assert resource["resource"] == f"{live_server_url}/mcp"
    assert resource["authorization_servers"] == [authorization_server["issuer"]]
    assert set(resource["scopes_supported"]) == set(authorization_server["scopes_supported"])
