"""Gatehouse's one rate limiter: REST API, MCP endpoint, OAuth endpoints, sign-in and sign-up.

Fixed windows counted by `limits`: one counter per (scope, key, window), in Redis when `REDIS_URL` is
set (an atomic INCR + EXPIRE script, so every worker shares it and a burst is counted exactly), else
in this process's memory. A window starts with its first request; a burst at a window's edge may get
up to twice the rate over two windows, an acceptable trade for one increment per request and no
locking across workers.

Redis only shares the counts: when it is down, each process counts in its own memory meanwhile (a
warning, at most every WARN_EVERY seconds), and tries Redis again every RETRY_AFTER seconds, so the
shared counting comes back by itself.

Rates are one syntax everywhere: `<count>/<period>`, the period an optional number and a unit
(`300/min`, `10/h`, `5/sec`, `100/day`, `10/5m`). parse_rate() reads them; check_rate_settings()
refuses a bad one at startup.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage

from accounts.core.web import client_ip

logger = logging.getLogger(__name__)

# Every setting that holds a rate: checked when Django starts (AccountsConfig.ready).
RATE_SETTINGS = (
    "API_RATE_LIMIT",
    "MCP_RATE_LIMIT_PER_CREDENTIAL",
    "MCP_RATE_LIMIT_PER_ORG",
    "OAUTH_DCR_RATE",
    "OAUTH_TOKEN_RATE",
    "OAUTH_TOKEN_FAILURE_RATE",
    "SIGNUP_RATE",
    "EMAIL_CONFIRMATION_RATE",
    "PASSWORD_RESET_RATE",
    "PASSWORD_RESET_IP_RATE",
    "LOGIN_FAILURE_IP_RATE",
)
# Redis down: warn at most this often, and try it again after this many seconds.
WARN_EVERY = 30.0
RETRY_AFTER = 5.0
# A Redis that does not answer must not hold requests: a connection refused fails at once, a
# silent one after these seconds (redis-py waits forever by default).
REDIS_TIMEOUT = 0.5
# A request waits this long at most for one of these connections (each is busy for well under a
# millisecond per count).
REDIS_CONNECTIONS = 64
REDIS_POOL_WAIT = 2.0

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_UNIT_NAMES = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hr", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(value: str) -> Rate:
    """`"300/min"` → Rate(300, 60), `"10/5m"` → Rate(10, 300); ImproperlyConfigured for anything else."""
    match = _RATE.fullmatch(str(value).lower())
    unit = _UNIT_NAMES.get(match.group(3)) if match else None
    if match is None or unit is None:
        raise ImproperlyConfigured(
            f"Invalid rate {value!r}: use <count>/<period>, e.g. 300/min, 10/h, 5/sec, 100/day or 10/5m"
        )
    rate = Rate(count=int(match.group(1)), seconds=int(match.group(2) or 1) * _UNITS[unit])
    if rate.count < 1 or rate.seconds < 1:
        raise ImproperlyConfigured(f"Invalid rate {value!r}: the count and the period must be at least 1")
    return rate


def check_rate_settings() -> None:
    """Refuse to start with a rate setting that does not parse, naming the setting."""
    for name in RATE_SETTINGS:
        try:
            parse_rate(getattr(settings, name))
        except ImproperlyConfigured as exc:
            raise ImproperlyConfigured(f"{name}: {exc}") from None


def _redis_pool(url: str) -> redis.BlockingConnectionPool:
    """Connections to Redis, which concurrent requests wait for (redis-py's default pool refuses the
    101st at once, which would send a burst of requests to per-process counting)."""
    return redis.BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
    )


@lru_cache(maxsize=64)
def _item(value: str) -> RateLimitItem:
    rate = parse_rate(value)
    return RateLimitItemPerSecond(rate.count, rate.seconds)


class _SweptMemoryStorage(MemoryStorage):
    """`limits`' memory storage without its timer thread.

    MemoryStorage starts a `threading.Timer` to drop expired counters whenever its last one has run,
    so under steady traffic it started a thread every ~10 ms: a third of a cached MCP call's rate
    limiting, and the kernel's work besides. Counts already expire when read (`get`, called by every
    `incr`); the sweep of keys nobody asks for again runs here inline, at most every SWEEP_EVERY s.
    """

    SWEEP_EVERY = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's (name-mangled) timer
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_EVERY:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class Limiter:
    """Fixed-window counters in Redis (shared, atomic) or this process's memory, Redis's outages
    bridged by memory."""

    def __init__(self, *, redis_url: str = "") -> None:
        self.memory = _SweptMemoryStorage()
        # MemoryStorage reads the count back after releasing its per-key lock, so two racing hits
        # may both see the later count and both be refused: one lock makes each count exact.
        self._memory_lock = threading.Lock()
        self.redis = RedisStorage(redis_url, connection_pool=_redis_pool(redis_url)) if redis_url else None
        self._state_lock = threading.Lock()
        self._redis_down_until = 0.0  # monotonic; 0 while Redis answers
        self._failed_at = 0.0
        self._warned_at: float | None = None
        self._failures = 0  # since the last warning

    def hit(self, *, scope: str, key: str, rate: str, count: bool = True) -> int | None:
        """Count one request (count=False: only look); the seconds until the window ends when over."""
        item = _item(rate)
        storage_key = item.key_for(scope, key)
        if self.redis is not None and self._try_redis():
            started = time.monotonic()
            try:
                retry_after = self._hit(self.redis, item, storage_key, count=count)
            except self.redis.base_exceptions as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered(started=started)
                return retry_after
        with self._memory_lock:
            return self._hit(self.memory, item, storage_key, count=count)

    @staticmethod
    def _hit(storage: Storage, item: RateLimitItem, key: str, *, count: bool) -> int | None:
        if count:
            over = storage.incr(key, item.get_expiry()) > item.amount
        else:
            over = storage.get(key) >= item.amount
        if not over:
            return None
        return max(1, math.ceil(storage.get_expiry(key) - time.time()))

    def _try_redis(self) -> bool:
        if not self._redis_down_until:
            return True
        with self._state_lock:
            now = time.monotonic()
            if now < self._redis_down_until:
                return False
            # This caller tries Redis; the others keep counting in memory until it has answered.
            self._redis_down_until = now + RETRY_AFTER
            return True

    def _redis_failed(self, exc: Exception) -> None:
        with self._state_lock:
            now = time.monotonic()
            self._redis_down_until, self._failed_at = now + RETRY_AFTER, now
            self._failures += 1
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
                return
            failures, self._failures, self._warned_at = self._failures, 0, now
        logger.warning(
            "Redis is unreachable (%s: %s); rate limits are counted per process until it answers "
            "(%d failed attempts since the last warning).",
            type(exc).__name__,
            exc,
            failures,
        )

    def _redis_answered(self, *, started: float) -> None:
        if not self._redis_down_until:
            return
        with self._state_lock:
            # A call begun before the latest failure says nothing about Redis now.
            if not self._redis_down_until or started < self._failed_at:
                return
            self._redis_down_until = 0.0
        # The warnings stay at most one per WARN_EVERY, should Redis come and go.
        logger.info("Redis answers again; rate limits are shared by every process again.")

    def reset(self) -> None:
        """Forget every count (tests)."""
        with self._memory_lock:
            self.memory.reset()
        if self.redis is not None:
            try:
                self.redis.reset()
            except self.redis.base_exceptions:
                logger.debug("Redis is down: its counts were not reset")


_lock = threading.Lock()
_limiter: Limiter | None = None


def limiter() -> Limiter:
    """The process's limiter, over the storage REDIS_URL names."""
    global _limiter  # one per process, rebuilt when REDIS_URL changes
    current = _limiter
    if current is None:
        with _lock:
            if _limiter is None:
                _limiter = Limiter(redis_url=settings.REDIS_URL)
            current = _limiter
    return current


def reset_rate_limits() -> None:
    """Forget every count and rebuild the limiter from the settings (tests)."""
    global _limiter
    with _lock:
        if _limiter is not None:
            _limiter.reset()
        _limiter = None


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    global _limiter
    if setting == "REDIS_URL":
        with _lock:
            _limiter = None


def hit(*, scope: str, key: str, rate: str, count: bool = True) -> int | None:
    """Count one request against `scope`/`key` at `rate`; the seconds to wait when over it, else None.

    Counting, the request that exceeds the rate is refused; with count=False this only looks
    whether the rate is spent already (for counting failures only, after the fact).
    """
    return limiter().hit(scope=scope, key=key, rate=rate, count=count)


def ip_key(request: HttpRequest) -> str:
    """Whose requests a per-address limit counts: the client's IPv4 address, or its IPv6 /64 (one
    customer's whole network, which it may spread its requests across)."""
    ip = client_ip(request) or ""
    if ":" in ip:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return ip
