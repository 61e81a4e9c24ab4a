"""Who is calling: the bearer token of an MCP request, resolved by the same resolver as the REST API."""

from __future__ import annotations

from django.conf import settings

from accounts.core.bearer import InvalidToken, resolve_bearer
from accounts.core.principal import Channel, Principal
from mcpserver.limits import Limited, check_rate_limits

PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
PRM_ROOT_PATH = "/.well-known/oauth-protected-resource"


def resource_metadata_url() -> str:
    """RFC 9728 metadata of the /mcp resource, named in every 401 so clients can find the OAuth server."""
    return f"{settings.PUBLIC_URL}{PRM_PATH}"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header: None if absent, "" if malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return "" if not token or " " in token else token


def www_authenticate(*, error: str = "", description: str = "", scope: str = "") -> str:
    """A `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3, RFC 9728 §5.1)."""
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope:
        parts.append(f'scope="{scope}"')
    parts.append(f'resource_metadata="{resource_metadata_url()}"')
    return "Bearer " + ", ".join(parts)


def authenticate(*, token: str, ip: str | None, user_agent: str) -> tuple[Principal | None, Limited | None]:
    """Resolve the token (one indexed query) and count the request against its rate limits.

    Both happen in one synchronous call so that an MCP request costs one hop to a worker thread.
    """
    if not token:
        return None, None
    try:
        principal = resolve_bearer(token=token, channel=Channel.MCP, ip=ip, user_agent=user_agent)
    except InvalidToken:
        return None, None
    return principal, check_rate_limits(principal=principal)
