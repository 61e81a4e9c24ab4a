"""A real database outage: Gatehouse in uvicorn on a private PostgreSQL cluster, stopped, then started.

While it is down every channel answers 503 with Retry-After and nothing of the driver's message; once
it is back, each answers 200 again within seconds, with nothing restarted. In-process variants of
each answer (SQLite and PostgreSQL alike): tests/accounts/core/test_outage.py, tests/mcpserver/
test_outage.py. Runs when the suite runs on PostgreSQL and the server binaries are installed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from apikeys.keys import generate
from tests.support.mcp import JSON, tool_call
from tests.support.outage import assert_nothing_internal
from tests.support.pgcluster import Cluster, cluster_user, postgres_bin, private_cluster
from tests.support.servers import demo_api_key, free_port, gatehouse_env, migrate_and_seed, uvicorn_process

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "accounts.core.postgresql"
    or postgres_bin() is None
    or cluster_user() == "",
    reason="runs on PostgreSQL, with its server binaries (a private cluster it can stop)",
)

RECOVERY_LIMIT = 10.0  # seconds from the database accepting connections again to a 200
BURST = 12  # concurrent MCP calls: more than the MCP database pool's threads (2 cores: 6)


def _ok(response: httpx.Response) -> bool:
    """A 200 that is not a JSON-RPC error (an MCP call inside which the database failed is a 200)."""
    if response.status_code != 200:
        return False
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return not (is_json and "error" in response.json())


def _until_ok(request: Callable[[], httpx.Response], limit: float) -> float:
    """Seconds until `request` answers 200 (polled every 50 ms); fails after `limit` seconds."""
    start = time.monotonic()
    while True:
        response = request()
        elapsed = time.monotonic() - start
        if _ok(response):
            return elapsed
        assert response.status_code in (200, 503), f"expected 503 while recovering, got {response.text}"
        assert elapsed < limit, f"still {response.status_code} {elapsed:.1f} s after the database came back"
        time.sleep(0.05)


def _burst(request: Callable[[], httpx.Response]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        return list(pool.map(lambda _: request(), range(BURST)))


def _assert_503_json(response: httpx.Response, cluster: Cluster) -> None:
    assert response.status_code == 503, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"
    assert str(cluster.port) not in response.text
    assert_nothing_internal(response.text)


def test_503s_while_postgresql_is_down_and_recovery_within_seconds(tmp_path: Path) -> None:
    with private_cluster() as cluster:
        port = free_port()
        env = gatehouse_env(
            database=tmp_path / "unused.sqlite3", port=port, DATABASE_URL=cluster.url, DEBUG="1"
        )
        key = demo_api_key(migrate_and_seed(env))
        unknown_key = generate()  # well formed, never issued: resolved in full, in the database
        with (
            uvicorn_process("config.asgi:application", port=port, env=env) as url,
            httpx.Client(base_url=url, timeout=15) as browser,
        ):
            bearer = {"Authorization": f"Bearer {key}"}

            def rest() -> httpx.Response:
                return httpx.get(f"{url}/api/v1/projects/", headers=bearer, timeout=15)

            def mcp(token: str = key) -> httpx.Response:
                headers = {**JSON, "Authorization": f"Bearer {token}"}
                return httpx.post(f"{url}/mcp", json=tool_call("list_projects"), headers=headers, timeout=15)

            def token_request() -> httpx.Response:
                form = {"grant_type": "authorization_code", "code": "abc", "client_id": "nobody"}
                return httpx.post(f"{url}/oauth/token/", data=form, timeout=15)

            def page() -> httpx.Response:
                return browser.get("/orgs/demo/projects/")

            login = browser.get("/login/")
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
            assert csrf is not None
            signed_in = browser.post(
                "/login/",
                data={
                    "csrfmiddlewaretoken": csrf.group(1),
                    "username": DEMO_EMAIL,
                    "password": DEMO_PASSWORD,
                },
            )
            assert signed_in.status_code == 302
            assert rest().status_code == 200
            assert mcp().status_code == 200  # the worker now has the credential cached
            assert all(map(_ok, _burst(mcp)))  # every thread of the MCP pool holds a connection
            assert page().status_code == 200

            cluster.stop()
            _assert_503_json(rest(), cluster)
            _assert_503_json(mcp(), cluster)  # cached: its generation cannot be read
            _assert_503_json(mcp(unknown_key), cluster)  # uncached
            _assert_503_json(token_request(), cluster)
            down_page = page()
            assert down_page.status_code == 503
            assert down_page.headers["retry-after"] == "5"
            assert "Temporarily unavailable" in down_page.text
            assert str(cluster.port) not in down_page.text
            assert_nothing_internal(down_page.text)

            started = time.monotonic()
            cluster.start()  # returns once the server accepts connections
            startup = time.monotonic() - started
            recovery = {
                "rest": _until_ok(rest, RECOVERY_LIMIT),
                "mcp": _until_ok(mcp, RECOVERY_LIMIT),
                "dashboard": _until_ok(page, RECOVERY_LIMIT),
            }
            assert token_request().status_code in (400, 401)  # DOT answers again: no such client
            # No thread of the MCP pool answers with a connection the outage broke.
            burst = _burst(mcp)
            assert all(map(_ok, burst)), [r.text[:200] for r in burst if not _ok(r)]
            print(f"postgres startup {startup:.2f} s; then 200 after (s): {recovery}")
