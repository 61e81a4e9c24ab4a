"""The REST API's limit per key under concurrency, over real HTTP: exactly the rate passes, the rest is
429 with Retry-After. DRF's own throttle read, then wrote its history: concurrent requests all passed."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import override_settings

from tests.support.live import wait_until_idle
from tests.support.mcp import Tenant
from tests.support.redis import redis_available, redis_server


@pytest.fixture(params=["memory", "redis"])
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "memory":
        yield ""
        return
    if not redis_available():
        pytest.skip("redis-server is not installed")
    with redis_server() as url:
        yield url


def test_concurrent_requests_over_the_limit_get_429_and_exactly_the_rate_passes(
    mcp_base_url: str, mcp_url: str, acme: Tenant, redis_url: str
) -> None:
    headers = {"Authorization": f"Bearer {acme.key}"}
    # As in production, REDIS_URL puts the Django cache in the same Redis (where DRF's throttle kept
    # its history: 150 of 150 passed).
    caches = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_url}}
    with (
        override_settings(REDIS_URL=redis_url, API_RATE_LIMIT="100/min"),
        override_settings(**({"CACHES": caches} if redis_url else {})),
        httpx.Client(base_url=mcp_base_url, headers=headers, timeout=60) as http,
        ThreadPoolExecutor(max_workers=30) as pool,
    ):
        # One first: its key's last use is stamped (a write), which SQLite's shared-cache test
        # database would report to concurrent readers as a locked table.
        responses = [http.get("/api/v1/whoami/")]
        responses += pool.map(lambda _: http.get("/api/v1/whoami/"), range(149))
        wait_until_idle(mcp_base_url)
    statuses = [r.status_code for r in responses]
    assert (statuses.count(200), statuses.count(429)) == (100, 50)
    for limited in (r for r in responses if r.status_code == 429):
        body = limited.json()
        assert body["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert body["retry_after"] == int(limited.headers["Retry-After"])
