"""The bearer credentials a person holds, whatever app issued them: listed and revoked together.

When a password is reset or changed, every credential that acts for the person is in question. The
apps that issue credentials register here (from their AppConfig.ready()), so that the account code
can list and revoke them without importing those apps: `apikeys` registers its API keys, and
`accounts.oauth` its connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from accounts.users.models import User


@dataclass(frozen=True)
class HeldCredential:
    """One credential acting for a person, as an email or a page describes it."""

    kind: str  # "API key", "OAuth app": already in words
    label: str  # the key's name and hint, or the app's name
    organization: str  # the organization's name


class CredentialIssuer(Protocol):
    def active_for_user(self, *, user: User) -> list[HeldCredential]: ...

    def revoke_for_user(self, *, user: User, reason: str, ip: str | None, user_agent: str) -> int: ...


_ISSUERS: dict[str, CredentialIssuer] = {}


def register_credential_issuer(name: str, issuer: CredentialIssuer) -> None:
    _ISSUERS[name] = issuer


def credential_issuers() -> dict[str, CredentialIssuer]:
    """Every registered issuer, by name ("api_keys", "oauth")."""
    return dict(_ISSUERS)
