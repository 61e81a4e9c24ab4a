"""Who is calling: the bearer token of an MCP request, resolved by the same resolver as the REST API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from django.conf import settings

from accounts.core.bearer import InvalidToken, resolve_uncached
from accounts.core.credential_cache import CACHE, now
from accounts.core.principal import Channel, Principal
from mcpserver.db import run_db
from mcpserver.generations import GenerationReader
from mcpserver.limits import Limited, check_rate_limits

logger = logging.getLogger(__name__)

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


async def authenticate(
    *, token: str, ip: str | None, user_agent: str, generations: GenerationReader
) -> tuple[Principal | None, Limited | None]:
    """Resolve the token, then count the request against its rate limits.

    A cached credential costs one primary-key read on the event loop (its organization's credential
    generation, accounts/core/credential_cache.py) and no thread hop; any other, one indexed query
    in the MCP pool, which caches it for the next requests.
    """
    if not token:
        return None, None
    key = CACHE.key(token=token, channel=Channel.MCP)
    entry = CACHE.get(key)
    principal: Principal | None = None
    if entry is not None:
        moment = now()
        if entry.usable(generation=await generations.read(entry.organization_id), now=moment):
            principal = entry.bind(ip=ip, user_agent=user_agent)
            if entry.use_due(moment):
                _in_background(run_db(entry.record_use, when=moment, ip=principal.ip))
    if principal is None:
        try:
            principal = await run_db(
                resolve_uncached, token=token, channel=Channel.MCP, ip=ip, user_agent=user_agent
            )
        except InvalidToken:
            return None, None
    return principal, check_rate_limits(principal=principal)


_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    """Stamp a credential's last use without making the request wait for it (at most once a minute)."""

    async def run() -> None:
        try:
            await work
        except Exception:  # a missed stamp is harmless; the next minute's request writes it
            logger.warning("could not record a credential's last use", exc_info=True)

    task = asyncio.get_running_loop().create_task(run())
    _BACKGROUND.add(task)  # the loop keeps only a weak reference to its tasks
    task.add_done_callback(_BACKGROUND.discard)
