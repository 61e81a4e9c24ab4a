"""One resolver for every bearer token Gatehouse issues: `sk-…` API keys and `wat_…` OAuth access tokens.

The REST API (`apikeys.authentication.BearerAuthentication`) and the MCP endpoint
(`mcpserver.auth`) both call `resolve_bearer()`, so a token means the same thing on either channel.
Each resolver is plain synchronous Python: ONE indexed query that also re-reads the membership of
the user behind the credential, so a removed member's tokens stop working on the next request.
Every way a token can be wrong raises the same `InvalidToken`: a caller cannot tell an unknown
token from a revoked or expired one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.utils.translation import gettext_lazy as _

from accounts.principal import Channel, Principal

API_KEY_PREFIX = "sk-"
ACCESS_TOKEN_PREFIX = "wat_"  # noqa: S105 - a prefix, not a secret

BearerResolver = Callable[..., Principal]


class InvalidToken(Exception):
    """The bearer token is malformed, unknown, revoked, expired, or its member left: one answer for all."""

    description = _("The access token is malformed, unknown, expired or revoked.")


@cache
def _resolvers() -> tuple[tuple[str, BearerResolver], ...]:
    # Imported on first use: both resolvers' modules import this one for InvalidToken.
    from accounts.oauth import principal_from_access_token
    from apikeys.authentication import principal_from_api_key

    return ((API_KEY_PREFIX, principal_from_api_key), (ACCESS_TOKEN_PREFIX, principal_from_access_token))


def resolve_bearer(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Principal:
    """The principal a bearer token acts as, by its prefix; raises InvalidToken. One indexed query."""
    for prefix, resolver in _resolvers():
        if token.startswith(prefix):
            return resolver(token=token, channel=channel, ip=ip, user_agent=user_agent)
    raise InvalidToken
