"""Rate limits of the MCP endpoint: per credential and per organization, counted in the Django cache.

Fixed windows: one counter per (credential or organization, window). It is the cheapest scheme that
every worker can share through Redis (`REDIS_URL`): one `add` or `incr` per limit and request. A
burst at a window's edge may get up to twice the rate over two windows; for abuse protection that
is an acceptable trade for no locking and no per-request lists.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

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


def _hit(key: str, rate: Rate, now: float) -> int | None:
    """Count one request in the current window; the seconds until it resets when over the rate."""
    window = int(now // rate.seconds)
    cache_key = f"mcp:rate:{key}:{rate.seconds}:{window}"
    if cache.add(cache_key, 1, timeout=rate.seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the window's key expired between add and incr: a fresh window
            cache.add(cache_key, 1, timeout=rate.seconds + 1)
            count = 1
    if count <= rate.count:
        return None
    return max(1, math.ceil((window + 1) * rate.seconds - now))


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


def check_rate_limits(*, principal: Principal, now: float | None = None) -> Limited | None:
    """Count this request for its credential, then its organization; the first limit exceeded, if any."""
    now = time.time() if now is None else now
    retry = _hit(credential_bucket(principal), parse_rate(settings.MCP_RATE_LIMIT_PER_CREDENTIAL), now)
    if retry is not None:
        return Limited(limit="credential", retry_after=retry)
    retry = _hit(f"org:{principal.organization.pk}", parse_rate(settings.MCP_RATE_LIMIT_PER_ORG), now)
    if retry is not None:
        return Limited(limit="organization", retry_after=retry)
    return None
