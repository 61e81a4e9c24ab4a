"""Redis only shares rate-limit counts: while it is down, every channel answers as usual (each process
counting for itself, one warning), and once it is back the counts are shared again."""

from __future__ import annotations

import logging

import httpx
import pytest
import redis
from django.test import Client, override_settings

from accounts.core import ratelimit
from accounts.models import OAuthApplication
from tests.support.live import wait_until_idle
from tests.support.mcp import Tenant, post, tool_call
from tests.support.oauth import obtain_tokens, refresh, register
from tests.support.redis import redis_available, redis_process
from tests.support.servers import free_port


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ratelimit.__name__ and "unreachable" in r.msg]


def test_every_channel_answers_while_redis_is_unreachable_with_one_warning(
    mcp_base_url: str,
    mcp_url: str,
    acme: Tenant,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_AFTER", 0.0)  # every request tries Redis again
    caplog.set_level(logging.WARNING, logger=ratelimit.__name__)
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    api = {"Authorization": f"Bearer {acme.key}"}
    with override_settings(REDIS_URL=nobody_listens):
        for _ in range(3):
            assert post(mcp_url, tool_call("whoami"), acme.key).status_code == 200
            assert httpx.get(f"{mcp_base_url}/api/v1/whoami/", headers=api).status_code == 200
        registered = register(Client())
        assert registered.status_code == 201, registered.content
        app = OAuthApplication.objects.get(client_id=registered.json()["client_id"])
        tokens = obtain_tokens(acme.owner.user, app, acme.org)  # the code exchange: 200
        assert refresh(Client(), app.client_id, tokens["refresh_token"]).status_code == 200
        assert refresh(Client(), app.client_id, "wrt_unknown").status_code == 400
        wait_until_idle(mcp_base_url)
    assert len(outage_warnings(caplog)) == 1


@override_settings(API_RATE_LIMIT="3/min")
def test_rest_counts_are_shared_again_once_redis_is_back(
    mcp_base_url: str, mcp_url: str, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not redis_available():
        pytest.skip("redis-server is not installed")
    monkeypatch.setattr(ratelimit, "RETRY_AFTER", 0.0)
    api = {"Authorization": f"Bearer {acme.key}"}

    def whoami() -> int:
        return httpx.get(f"{mcp_base_url}/api/v1/whoami/", headers=api).status_code

    with redis_process() as server, override_settings(REDIS_URL=server.url):
        shared = redis.Redis.from_url(server.url)
        assert whoami() == 200
        assert [int(shared.get(key) or 0) for key in shared.keys("LIMITS:*")] == [1]
        server.stop()
        # Counted in this process meanwhile, the limit still holds.
        assert [whoami() for _ in range(4)] == [200, 200, 200, 429]
        server.start()  # empty again
        assert whoami() == 200
        assert [int(shared.get(key) or 0) for key in shared.keys("LIMITS:*")] == [1]
        wait_until_idle(mcp_base_url)
