"""The shape of Gatehouse's OAuth tokens: `wat_`/`wrt_` + 256 random bits, stored as a SHA-256 checksum."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest

from accounts.core.rls import scope_of_secret
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


@contextlib.contextmanager
def scope_of_presented_secret(request: HttpRequest) -> Iterator[None]:
    """Scope the OAuth request to the organization of the code or token it presents (row-level security).

    The token, revocation and introspection endpoints have only that secret to go by, and
    django-oauth-toolkit looks its row up itself: the transaction must already see that organization.
    """
    post = request.POST
    if code := post.get("code"):
        kind, lookup = "grant", code
    elif refresh := post.get("refresh_token"):
        kind, lookup = "refresh_token", token_checksum(refresh)
    elif token := post.get("token"):
        kind, lookup = "token", token_checksum(token)
    else:
        yield
        return
    with scope_of_secret(kind=kind, lookup=lookup):
        yield
