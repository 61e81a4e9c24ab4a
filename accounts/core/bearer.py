"""One resolver for every bearer token Gatehouse issues: `sk-…` API keys and `wat_…` OAuth access tokens.

The REST API (`accounts.core.authentication.BearerAuthentication`) and the MCP endpoint
(`mcpserver.auth`) both call `resolve_bearer()`, so a token means the same thing on either channel.
The resolvers themselves live with what they resolve (`apikeys.resolver`, `accounts.oauth.resolver`)
and are registered here by their app's `ready()`, by prefix: this module imports neither, so
neither can import it back into a cycle. Each resolver is plain synchronous Python: ONE indexed
query that also re-reads the membership of the user behind the credential, so a removed member's
tokens stop working on the next request. Every way a token can be wrong raises the same
`InvalidToken`: a caller cannot tell an unknown token from a revoked or expired one.
"""

from __future__ import annotations

from typing import Protocol

from django.utils.translation import gettext_lazy as _

from accounts.core.principal import Channel, Principal


class InvalidToken(Exception):
    """The bearer token is malformed, unknown, revoked, expired, or its member left: one answer for all."""

    description = _("The access token is malformed, unknown, expired or revoked.")


class BearerResolver(Protocol):
    def __call__(self, *, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal: ...


_RESOLVERS: dict[str, BearerResolver] = {}


def register_bearer_resolver(prefix: str, resolver: BearerResolver) -> None:
    """Make `resolver` answer for tokens starting with `prefix` (called from an AppConfig.ready())."""
    if any(prefix.startswith(known) or known.startswith(prefix) for known in _RESOLVERS if known != prefix):
        raise ValueError(f"bearer prefix {prefix!r} overlaps another registered prefix")
    _RESOLVERS[prefix] = resolver


def resolve_bearer(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal:
    """The principal a bearer token acts as, by its prefix; raises InvalidToken. One indexed query."""
    for prefix, resolver in _RESOLVERS.items():
        if token.startswith(prefix):
            return resolver(token=token, channel=channel, ip=ip, user_agent=user_agent)
    raise InvalidToken
