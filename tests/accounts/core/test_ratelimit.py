"""The one rate limiter (accounts/core/ratelimit.py): its rate syntax, exact counts under concurrency in
memory and in Redis, and a Redis outage bridged in memory until Redis answers again."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from accounts.core import ratelimit
from accounts.core.ratelimit import Limiter, Rate, check_rate_settings, ip_key, parse_rate
from tests.support.redis import RedisProcess, redis_available, redis_process
from tests.support.servers import ROOT, free_port, gatehouse_env

T = TypeVar("T")


def concurrently(fn: Callable[[int], T], *, times: int) -> list[T]:
    """Call fn(i) for i in range(times), every call in a thread of its own, all released at once."""
    start = threading.Barrier(times)

    def call(i: int) -> T:
        start.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(call, range(times)))


@pytest.fixture
def redis() -> Iterator[RedisProcess]:
    if not redis_available():
        pytest.skip("redis-server is not installed")
    with redis_process() as server:
        yield server


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ratelimit.__name__ and "unreachable" in r.msg]


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        ("300/min", Rate(300, 60)),
        ("60/m", Rate(60, 60)),
        ("10/h", Rate(10, 3600)),
        ("5/sec", Rate(5, 1)),
        ("100/day", Rate(100, 86400)),
        ("600/minute", Rate(600, 60)),
        ("10/5m", Rate(10, 300)),
        (" 20 / Hour ", Rate(20, 3600)),
    ],
)
def test_parse_rate_reads_every_spelling_the_settings_use(value: str, rate: Rate) -> None:
    assert parse_rate(value) == rate


@pytest.mark.parametrize("value", ["", "300", "x/min", "0/min", "10/0m", "10/fortnight", "-1/min", "1/m/s"])
def test_parse_rate_refuses_anything_else(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="Invalid rate"):
        parse_rate(value)


def test_a_bad_rate_setting_is_named_at_startup() -> None:
    with override_settings(API_RATE_LIMIT="600 per minute"), pytest.raises(ImproperlyConfigured) as error:
        check_rate_settings()
    assert str(error.value).startswith("API_RATE_LIMIT: Invalid rate '600 per minute'")
    check_rate_settings()  # the real settings parse


def test_ip_key_groups_an_ipv6_network_and_keeps_an_ipv4_address() -> None:
    factory = RequestFactory()
    assert ip_key(factory.get("/", REMOTE_ADDR="192.0.2.7")) == "192.0.2.7"
    first = ip_key(factory.get("/", REMOTE_ADDR="2001:db8:1:2::1"))
    assert first == ip_key(factory.get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert ip_key(factory.get("/", REMOTE_ADDR="2001:db8:1:3::1")) != first


def test_the_request_over_the_rate_is_refused_with_the_seconds_left() -> None:
    limiter = Limiter()
    assert [limiter.hit(scope="t", key="k", rate="2/min") for _ in range(2)] == [None, None]
    retry_after = limiter.hit(scope="t", key="k", rate="2/min")
    assert retry_after is not None
    assert 1 <= retry_after <= 60
    # Only looking spends nothing, and another key or scope has its own count.
    assert limiter.hit(scope="t", key="other", rate="2/min", count=False) is None
    assert limiter.hit(scope="t", key="other", rate="2/min") is None
    assert limiter.hit(scope="u", key="k", rate="2/min") is None
    assert limiter.hit(scope="t", key="k", rate="2/min", count=False) is not None


def test_150_concurrent_hits_in_memory_admit_exactly_100() -> None:
    limiter = Limiter()
    results = concurrently(lambda _: limiter.hit(scope="t", key="k", rate="100/min"), times=150)
    assert results.count(None) == 100


def test_150_concurrent_hits_in_redis_admit_exactly_100(redis: RedisProcess) -> None:
    limiter = Limiter(redis_url=redis.url)
    results = concurrently(lambda _: limiter.hit(scope="t", key="k", rate="100/min"), times=150)
    assert results.count(None) == 100
    assert all(1 <= r <= 60 for r in results if r is not None)


def test_two_limiters_sharing_one_redis_admit_exactly_100_together(redis: RedisProcess) -> None:
    # Two limiters are two workers: each has its own memory, only Redis is shared.
    workers = (Limiter(redis_url=redis.url), Limiter(redis_url=redis.url))
    results = concurrently(lambda i: workers[i % 2].hit(scope="t", key="k", rate="100/min"), times=150)
    assert results.count(None) == 100


def test_a_redis_outage_is_counted_in_memory_warned_once_and_ends_by_itself(
    redis: RedisProcess, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_AFTER", 0.0)  # every hit tries Redis again
    worker, other_worker = Limiter(redis_url=redis.url), Limiter(redis_url=redis.url)
    rate = "4/min"
    assert worker.hit(scope="t", key="k", rate=rate) is None
    redis.stop()
    caplog.set_level(logging.INFO, logger=ratelimit.__name__)
    during = [worker.hit(scope="t", key="k", rate=rate) for _ in range(5)]
    # This process's own count meanwhile: the limit still holds, and Redis failed 5 times, warned once.
    assert during[:4] == [None] * 4
    assert during[4] is not None
    assert len(outage_warnings(caplog)) == 1

    redis.start()  # an empty Redis, on the same port
    assert [worker.hit(scope="t", key="k", rate=rate) for _ in range(2)] == [None, None]
    assert [other_worker.hit(scope="t", key="k", rate=rate) for _ in range(2)] == [None, None]
    # Shared again: four hits through two workers spent the rate for both.
    assert other_worker.hit(scope="t", key="k", rate=rate) is not None
    assert worker.hit(scope="t", key="k", rate=rate) is not None
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assert len(outage_warnings(caplog)) == 1


def test_after_an_outage_redis_is_left_alone_for_the_back_off(
    redis: RedisProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "RETRY_AFTER", 3600.0)
    worker, other_worker = Limiter(redis_url=redis.url), Limiter(redis_url=redis.url)
    redis.stop()
    assert worker.hit(scope="t", key="k", rate="2/min") is None
    redis.start()
    # Within the back-off this worker still counts in memory: the other worker's Redis sees nothing.
    assert worker.hit(scope="t", key="k", rate="2/min") is None
    assert worker.hit(scope="t", key="k", rate="2/min") is not None
    assert [other_worker.hit(scope="t", key="k", rate="2/min") for _ in range(2)] == [None, None]


def test_the_django_cache_survives_a_redis_outage(tmp_path: Path) -> None:
    """The production settings (not the test ones): with REDIS_URL unreachable, the cache reads miss
    and writes are dropped, without an exception."""
    env = gatehouse_env(database=tmp_path / "db.sqlite3", port=free_port(), DEBUG="1")
    env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    code = (
        "import django; django.setup()\n"
        "from django.core.cache import cache\n"
        "cache.set('k', 1)\n"
        "print(cache.get('k', 'missing'), cache.add('k', 1))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["missing", "None"]


def test_memory_counting_starts_no_thread_and_sweeps_expired_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = Limiter()
    started: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", lambda thread: started.append(thread))
    for i in range(50):
        assert limiter.hit(scope="test", key=f"k{i}", rate="100/min") is None
    assert started == []  # limits' own MemoryStorage started a Timer thread every ~10 ms
    assert len(limiter.memory.storage) == 50
    monkeypatch.setattr(limiter.memory, "expirations", dict.fromkeys(limiter.memory.expirations, 0.0))
    monkeypatch.setattr(limiter.memory, "_swept", 0.0)
    limiter.hit(scope="test", key="fresh", rate="100/min")
    (kept,) = limiter.memory.storage  # the expired counters were dropped, not only skipped
    assert "/fresh/" in kept
