"""The audit chain's key: what makes the chain and its checkpoints impossible to forge from the database."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.crypto import salted_hmac


@cache
def _configured_key(key: str, secret_key: str) -> bytes:
    if key:
        return key.encode()
    # No dedicated key: one derived from SECRET_KEY (docs/security.md: set AUDIT_CHAIN_KEY in
    # production, so that rotating SECRET_KEY leaves the chain verifiable).
    return salted_hmac("accounts.audit.chain", "key", secret=secret_key, algorithm="sha256").digest()


def chain_key() -> bytes:
    """The HMAC key of the chain and of its checkpoints: configuration, never the database."""
    return _configured_key(settings.AUDIT_CHAIN_KEY, settings.SECRET_KEY)
