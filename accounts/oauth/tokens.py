"""The shape of Gatehouse's OAuth tokens: `wat_`/`wrt_` + 256 random bits, stored as a SHA-256 checksum."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from accounts.core.secrecy import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX


def access_token_generator(request: Any, refresh_token: bool = False) -> str:
    """`wat_` + 256 random bits: the prefix lets the bearer resolver dispatch without a query."""
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def refresh_token_generator(request: Any, refresh_token: bool = False) -> str:
    """`wrt_` + 256 random bits."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_checksum(token: str) -> str:
    """The SHA-256 DOT stores instead of the token (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
