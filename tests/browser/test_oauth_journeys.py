"""OAuth seen from both sides: a real MCP client (the Python SDK's OAuthClientProvider) and a person in
Chromium. The person allows the app on the consent page, the app calls tools, the person disconnects
it under Connected apps, and the app's next call gets 401. And: Deny sends `access_denied` to the app.

The SDK client runs in a thread of its own (it is asyncio; Playwright's sync API owns this thread).
When it wants a person it hands the authorize URL over a queue; the browser, driven here, ends on the
app's loopback redirect URI (tests/support/callback.py), where the client picks up the code.
"""

from __future__ import annotations

import asyncio
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult
from playwright.sync_api import Page, expect

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.steps import account_menu, sign_in
from tests.support.callback import LoopbackCallback
from tests.support.oauth_flow import MemoryStorage, pkce_pair, public_client

pytestmark = pytest.mark.browser

WAIT = 60  # seconds, for any one step of the other side
T = TypeVar("T")


class AskedToAuthorizeAgain(Exception):
    """The app wanted the person again: its tokens stopped working."""


@dataclass
class App:
    """What the app (the SDK client) shares with the test driving the browser."""

    name: str
    mcp_url: str
    callback: LoopbackCallback
    authorize_urls: queue.Queue[str] = field(default_factory=queue.Queue)  # "open the browser here"
    connected: threading.Event = field(default_factory=threading.Event)  # the first tool calls are done
    disconnected: threading.Event = field(default_factory=threading.Event)  # set by the browser side
    responses: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status

    async def run(self) -> dict[str, Any]:
        storage = MemoryStorage()

        async def redirect_handler(authorize_url: str) -> None:
            if self.disconnected.is_set():
                raise AskedToAuthorizeAgain(authorize_url)
            self.authorize_urls.put(authorize_url)  # "opens the browser"

        async def callback_handler() -> AuthorizationCodeResult:
            params = await asyncio.to_thread(self.callback.wait, timeout=WAIT)
            return AuthorizationCodeResult(
                code=params["code"], state=params.get("state"), iss=params.get("iss")
            )

        async def record(response: httpx2.Response) -> None:
            request = response.request
            self.responses.append((request.method, request.url.path, response.status_code))

        provider = public_client(
            mcp_url=self.mcp_url,
            name=self.name,
            redirect_uri=self.callback.url,
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        async with httpx2.AsyncClient(auth=provider, timeout=30, event_hooks={"response": [record]}) as http:
            async with Client(streamable_http_client(self.mcp_url, http_client=http)) as client:  # type: ignore[arg-type]
                whoami = await client.call_tool("whoami", {})
                projects = await client.call_tool("list_projects", {})
            self.connected.set()
            if not await asyncio.to_thread(self.disconnected.wait, WAIT):
                raise AssertionError("the app was not disconnected in time")
            before = len(self.responses)
            try:
                async with Client(streamable_http_client(self.mcp_url, http_client=http)) as client:  # type: ignore[arg-type]
                    await client.call_tool("whoami", {})
            except Exception as error:
                after_disconnect: Exception | None = error
            else:
                after_disconnect = None
        return {
            "whoami": whoami,
            "projects": projects,
            "tokens": storage.tokens,
            "client_id": storage.client_info.client_id if storage.client_info else None,
            "after_disconnect": after_disconnect,
            "responses_after_disconnect": self.responses[before:],
        }


def wait_for(future: Future[Any], step: Callable[[], T | None], what: str) -> T:
    """Poll `step()` (returns a value or None) until it has one, failing at once if the app failed."""
    deadline = time.monotonic() + WAIT
    while True:
        if future.done():
            future.result()  # raises the app's error
            raise AssertionError(f"the app finished before {what}")
        value = step()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def next_url(urls: queue.Queue[str]) -> str | None:
    try:
        return urls.get(timeout=0.2)
    except queue.Empty:
        return None


def test_oauth_consent_then_disconnect_under_connected_apps(page: Page, live_server_url: str) -> None:
    name = f"Journey MCP app {secrets.token_hex(3)}"
    with LoopbackCallback() as callback, ThreadPoolExecutor(max_workers=1) as pool:
        app = App(name=name, mcp_url=f"{live_server_url}/mcp", callback=callback)
        running = pool.submit(asyncio.run, app.run())

        # The app opens the browser on the authorize URL; the person is not signed in yet.
        authorize_url: str = wait_for(running, lambda: next_url(app.authorize_urls), "the authorize URL")
        page.goto(authorize_url)
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name=f"Allow {name} to use Gatehouse?")).to_be_visible()
        expect(page.get_by_test_id("loopback-warning")).to_be_visible()
        page.get_by_label("Organization the app may act in").select_option(label="Demo (Owner)")
        page.get_by_role("button", name="Allow access").click()
        expect(page.get_by_text("You can close this window.")).to_be_visible()  # the app's callback page
        wait_for(running, lambda: app.connected.is_set() or None, "the app's first calls")

        # Connected apps, from the account menu: the app is there, for Demo. Disconnect it.
        page.goto(f"{live_server_url}/")
        account_menu(page, DEMO_EMAIL).click()
        page.get_by_role("menuitem", name="Connected apps").click()
        row = page.get_by_test_id("connections").get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text("Demo")
        expect(row).to_contain_text("Connected")
        page.once("dialog", lambda dialog: dialog.accept())  # "Disconnect … from Demo?"
        row.get_by_role("button", name=re.compile(r"^Disconnect")).click()
        expect(page.get_by_role("status")).to_be_visible()
        expect(page.get_by_test_id("connections").get_by_role("row").filter(has_text=name)).to_have_count(0)
        app.disconnected.set()
        result = running.result(timeout=WAIT)

    me = result["whoami"].structured_content
    assert not result["whoami"].is_error
    assert (me["organization"]["slug"], me["credential_kind"], me["credential_label"]) == (
        "demo",
        "oauth",
        name,
    )
    assert me["credential_id"] == result["client_id"]
    assert [p["slug"] for p in result["projects"].structured_content["projects"]] == ["handbook"]
    # After the disconnect the app's next call was refused (401), and it could only ask the person again.
    assert result["responses_after_disconnect"][0] == ("POST", "/mcp", 401), result[
        "responses_after_disconnect"
    ]
    assert isinstance(result["after_disconnect"], Exception)
    assert "AskedToAuthorizeAgain" in repr(result["after_disconnect"]) or any(
        isinstance(inner, AskedToAuthorizeAgain)
        for inner in getattr(result["after_disconnect"], "exceptions", [])
    ), repr(result["after_disconnect"])
    tokens = result["tokens"]
    stale = httpx.post(
        f"{live_server_url}/mcp",
        headers={"Authorization": f"Bearer {tokens.access_token}", "Accept": "application/json"},
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        timeout=30,
    )
    assert stale.status_code == 401
    refreshed = httpx.post(
        f"{live_server_url}/oauth/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": result["client_id"],
        },
        timeout=30,
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_deny_on_consent_sends_access_denied_to_the_app(page: Page, live_server_url: str) -> None:
    name = f"Denied MCP app {secrets.token_hex(3)}"
    with LoopbackCallback() as callback:
        registration = httpx.post(
            f"{live_server_url}/oauth/register/",
            json={
                "client_name": name,
                "redirect_uris": [callback.url],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            timeout=30,
        )
        assert registration.status_code == 201, registration.text
        state = secrets.token_urlsafe(12)
        _, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": registration.json()["client_id"],
            "redirect_uri": callback.url,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": f"{live_server_url}/mcp",
            "scope": "projects:read documents:read",
        }
        sign_in(page, live_server_url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        page.goto(f"{live_server_url}/oauth/authorize/?{urlencode(query)}")
        expect(page.get_by_role("heading", name=f"Allow {name} to use Gatehouse?")).to_be_visible()
        page.get_by_role("button", name="Deny").click()
        expect(page.get_by_text("You can close this window.")).to_be_visible()
        params = callback.wait(timeout=WAIT)

    assert params["error"] == "access_denied"
    assert params["state"] == state
    assert "code" not in params
    assert params["iss"] == live_server_url  # RFC 9207, on a denial too
    assert parse_qs(urlsplit(page.url).query)["error"] == ["access_denied"]
