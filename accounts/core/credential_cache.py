"""Principals of bearer credentials, kept per process and trusted only while nothing has changed.

Resolving a key or token is one query, but an expensive one to build and run (four joins and the
member's current role): most of an MCP call's cost before this cache. A cached principal is used
again only if, on this very request:

- its organization's `CredentialGeneration` still has the value read together with the credential
  (one primary-key read of one row). Triggers bump it in the same transaction as any change of what
  a credential may do (accounts/orgs/credential_triggers.py), so a revocation, a removed member or a
  changed role is seen by the next request on every worker and every host, with no grace period;
- its expiry (an API key's, a rolled key's end of overlap, an OAuth token's) has not passed: that
  needs no write, so no trigger could say it, and is checked against the clock each time.

Entries are keyed by channel and the token's SHA-256, so the token itself is not kept. The cache is
bounded (oldest entry out first); an organization without a generation row is never cached.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from django.db import connection
from django.utils import timezone

from accounts.core.client import clean_ip, clip_user_agent
from accounts.core.principal import Channel, Principal

MAX_ENTRIES = 10_000
# How often a credential's last use is written (its resolver's conditional UPDATE).
USE_RESOLUTION = 60.0
GENERATION_SQL = "SELECT value FROM accounts_credentialgeneration WHERE organization_id = %s"


class RecordUse(Protocol):
    def __call__(self, *, when: float, ip: str | None) -> None:
        """Stamp the credential's last use (unix time, address): one conditional UPDATE."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a resolver found for a token: the principal, and what caching it needs."""

    principal: Principal
    generation: int | None  # read in the same query as the credential; None: do not cache
    expires_at: datetime | None
    record_use: RecordUse


@dataclass(slots=True)
class Entry:
    principal: Principal  # without the request's ip and user agent
    organization_id: int
    generation: int
    expires: float | None  # unix time
    record_use: RecordUse
    used: float  # unix time of the last use written (or handed off to be written)
    # The last request's principal: a client calls from one address with one agent, and building a
    # principal per request (dataclasses.replace) was a tenth of a cached call's cost. Frozen: shareable.
    bound: Principal | None = None

    def usable(self, *, generation: int | None, now: float) -> bool:
        return generation == self.generation and (self.expires is None or now < self.expires)

    def bind(self, *, ip: str | None, user_agent: str) -> Principal:
        """The principal for this request: the cached one with the request's address and agent."""
        ip, user_agent = clean_ip(ip), clip_user_agent(user_agent)
        bound = self.bound
        if bound is None or bound.ip != ip or bound.user_agent != user_agent:
            bound = self.bound = replace(self.principal, ip=ip, user_agent=user_agent)
        return bound

    def use_due(self, now: float) -> bool:
        """Whether this request should stamp the credential's last use; marks it handed off if so."""
        if now - self.used < USE_RESOLUTION:
            return False
        self.used = now
        return True


class CredentialCache:
    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[Channel, str], Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(*, token: str, channel: Channel) -> tuple[Channel, str]:
        return channel, hashlib.sha256(token.encode()).hexdigest()

    def get(self, key: tuple[Channel, str]) -> Entry | None:
        return self._entries.get(key)

    def put(self, key: tuple[Channel, str], resolved: Resolved, *, now: float) -> None:
        if resolved.generation is None:
            return
        principal = replace(resolved.principal, ip=None, user_agent="")
        entry = Entry(
            principal=principal,
            organization_id=principal.organization.pk,
            generation=resolved.generation,
            expires=resolved.expires_at.timestamp() if resolved.expires_at is not None else None,
            record_use=resolved.record_use,
            used=now,  # the resolver has just stamped it
        )
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = entry

    def forget(self, key: tuple[Channel, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


CACHE = CredentialCache()


def generation_of(organization_id: int) -> int | None:
    """The organization's credential generation, read on this thread's Django connection."""
    with connection.cursor() as cursor:
        cursor.execute(GENERATION_SQL, [organization_id])
        row = cursor.fetchone()
    return int(row[0]) if row is not None else None


def now() -> float:
    """Unix time by Django's clock (the one expiries are set by, and tests move)."""
    return timezone.now().timestamp()
