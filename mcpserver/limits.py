"""Rate limits of the MCP endpoint: per credential and per organization, counted by `limits`.

Fixed windows: one counter per (credential or organization, window), in Redis when `REDIS_URL` is
set (an atomic INCR + EXPIRE script, shared by every worker), else in this process's memory. It is
the cheapest scheme every worker can share: one increment per limit and request (the Django cache's
add-or-incr cost five times as much, a tenth of an MCP call). A burst at a window's edge may get up
to twice the rate over two windows; for abuse protection that is an acceptable trade for no locking
and no per-request lists. A window starts with its first request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from accounts.core.principal import CredentialKind, Principal

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@dataclass(frozen=True)
class Limited:
    """A request over a limit: which one, and in how many seconds the window resets."""

    limit: str  # "credential" or "organization"
    retry_after: int


def parse_rate(value: str) -> Rate:
    """`"300/min"` → Rate(300, 60); raises ImproperlyConfigured for anything else."""
    count, _, unit = value.partition("/")
    try:
        rate = Rate(count=int(count), seconds=_UNITS[unit.strip().lower()])
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"Invalid MCP rate {value!r}: use <count>/<sec|min|hour>") from None
    if rate.count < 1:
        raise ImproperlyConfigured(f"Invalid MCP rate {value!r}: the count must be at least 1")
    return rate


@lru_cache(maxsize=1)
def _limiter() -> FixedWindowRateLimiter:
    """Counters in Redis when REDIS_URL is set (shared by every worker), else in this process."""
    storage = RedisStorage(settings.REDIS_URL) if settings.REDIS_URL else MemoryStorage()
    return FixedWindowRateLimiter(storage)


@lru_cache(maxsize=64)
def _item(value: str) -> RateLimitItem:
    rate = parse_rate(value)
    return RateLimitItemPerSecond(rate.count, rate.seconds)


def reset_rate_limits() -> None:
    """Forget every count (tests; the settings naming the storage changed)."""
    _limiter().storage.reset()
    _limiter.cache_clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "REDIS_URL":
        _limiter.cache_clear()


def _hit(key: str, rate: str) -> int | None:
    """Count one request in its window; the seconds until the window resets when over the rate."""
    item, limiter = _item(rate), _limiter()
    if limiter.hit(item, "mcp", key):
        return None
    reset_at = limiter.get_window_stats(item, "mcp", key).reset_time
    return max(1, math.ceil(reset_at - time.time()))


def credential_bucket(principal: Principal) -> str:
    """Whose requests one credential limit counts: an API key's, or one OAuth connection's.

    An OAuth app serves many people in many organizations; its connection is the app acting for
    one member in one organization, so one tenant's traffic never spends another tenant's limit.
    """
    credential = principal.credential
    if credential is None:
        return f"user:{principal.person.pk}"
    if credential.kind == CredentialKind.OAUTH:
        return f"oauth:{credential.id}:{principal.organization.pk}:{principal.person.pk}"
    return f"cred:{credential.kind}:{credential.id}"


def check_rate_limits(*, principal: Principal) -> Limited | None:
    """Count this request for its credential, then its organization; the first limit exceeded, if any."""
    retry = _hit(credential_bucket(principal), settings.MCP_RATE_LIMIT_PER_CREDENTIAL)
    if retry is not None:
        return Limited(limit="credential", retry_after=retry)
    retry = _hit(f"org:{principal.organization.pk}", settings.MCP_RATE_LIMIT_PER_ORG)
    if retry is not None:
        return Limited(limit="organization", retry_after=retry)
    return None
