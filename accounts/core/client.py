"""Who sent a request, read from its CGI-style META: Django and DRF requests carry one, and DOT hands
oauthlib the same keys as `request.headers`. No framework here, so every caller cuts and checks alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

USER_AGENT_MAX_LENGTH = 512  # AuditEvent.user_agent's max_length


@lru_cache(maxsize=4096)  # parsing cost a tenth of an MCP call's own work; the same peers call again
def clean_ip(ip: str | None) -> str | None:
    """The address in canonical form, or None if it is missing or not an IP address."""
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def clip_user_agent(user_agent: str | None) -> str:
    """The User-Agent cut to what the audit log keeps."""
    return (user_agent or "")[:USER_AGENT_MAX_LENGTH]


def meta_client_ip(meta: Mapping[str, Any]) -> str | None:
    # REMOTE_ADDR is the peer uvicorn saw; behind a proxy, uvicorn's --forwarded-allow-ips rewrites it.
    return clean_ip(meta.get("REMOTE_ADDR"))


def meta_user_agent(meta: Mapping[str, Any]) -> str:
    return clip_user_agent(meta.get("HTTP_USER_AGENT"))
