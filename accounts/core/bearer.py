"""One resolver for every bearer token Gatehouse issues: `sk-…` API keys and `wat_…` OAuth access tokens.

The REST API (`accounts.core.authentication.BearerAuthentication`) and the MCP endpoint
(`mcpserver.auth`) both come here, so a token means the same thing on either channel. The resolvers
themselves live with what they resolve (`apikeys.resolver`, `accounts.oauth.resolver`) and are
registered here by their app's `ready()`, by prefix: this module imports neither, so neither can
import it back into a cycle. Each resolver is plain synchronous Python: ONE indexed query that also
re-reads the membership of the user behind the credential and the organization's credential
generation. Its principal is cached (accounts/core/credential_cache.py) and used again while that
generation is unchanged and the credential unexpired, which one primary-key read tells. Every way a
token can be wrong raises the same `InvalidToken`: a caller cannot tell an unknown token from a
revoked or expired one.
"""

from __future__ import annotations

from typing import Protocol

from django.utils.translation import gettext_lazy as _

from accounts.core.client import clean_ip
from accounts.core.credential_cache import CACHE, Resolved, generation_of, now
from accounts.core.principal import Channel, Principal


class InvalidToken(Exception):
    """The bearer token is malformed, unknown, revoked, expired, or its member left: one answer for all."""

    description = _("The access token is malformed, unknown, expired or revoked.")


class BearerResolver(Protocol):
    def __call__(self, *, token: str, channel: Channel, ip: str | None, user_agent: str) -> Resolved: ...


_RESOLVERS: dict[str, BearerResolver] = {}


def register_bearer_resolver(prefix: str, resolver: BearerResolver) -> None:
    """Make `resolver` answer for tokens starting with `prefix` (called from an AppConfig.ready())."""
    if any(prefix.startswith(known) or known.startswith(prefix) for known in _RESOLVERS if known != prefix):
        raise ValueError(f"bearer prefix {prefix!r} overlaps another registered prefix")
    _RESOLVERS[prefix] = resolver


def resolve_bearer(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal:
    """The principal a bearer token acts as; raises InvalidToken. From the cache when its
    organization's generation (one primary-key read) says nothing changed, else one indexed query."""
    key = CACHE.key(token=token, channel=channel)
    entry = CACHE.get(key)
    if entry is not None:
        moment = now()
        if entry.usable(generation=generation_of(entry.organization_id), now=moment):
            if entry.use_due(moment):
                entry.record_use(when=moment, ip=clean_ip(ip))
            return entry.bind(ip=ip, user_agent=user_agent)
    return resolve_uncached(token=token, channel=channel, ip=ip, user_agent=user_agent)


def resolve_uncached(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal:
    """Resolve by the token's prefix (one indexed query) and cache the result; raises InvalidToken."""
    key = CACHE.key(token=token, channel=channel)
    for prefix, resolver in _RESOLVERS.items():
        if token.startswith(prefix):
            try:
                resolved = resolver(token=token, channel=channel, ip=ip, user_agent=user_agent)
            except InvalidToken:
                CACHE.forget(key)
                raise
            CACHE.put(key, resolved, now=now())
            return resolved.principal
    raise InvalidToken
