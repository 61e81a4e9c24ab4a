"""Rate limits of the MCP endpoint: per credential and per organization.

Counted by Gatehouse's one limiter (accounts/core/ratelimit.py): fixed windows, in Redis when
`REDIS_URL` is set (atomic, shared by every worker), else in this process's memory; one increment
per limit and request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from accounts.core.principal import CredentialKind, Principal
from accounts.core.ratelimit import Rate, hit, parse_rate, reset_rate_limits

__all__ = ["Limited", "Rate", "check_rate_limits", "credential_bucket", "parse_rate", "reset_rate_limits"]


@dataclass(frozen=True)
class Limited:
    """A request over a limit: which one, and in how many seconds the window resets."""

    limit: str  # "credential" or "organization"
    retry_after: int


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
    retry = hit(scope="mcp", key=credential_bucket(principal), rate=settings.MCP_RATE_LIMIT_PER_CREDENTIAL)
    if retry is not None:
        return Limited(limit="credential", retry_after=retry)
    retry = hit(scope="mcp", key=f"org:{principal.organization.pk}", rate=settings.MCP_RATE_LIMIT_PER_ORG)
    if retry is not None:
        return Limited(limit="organization", retry_after=retry)
    return None
