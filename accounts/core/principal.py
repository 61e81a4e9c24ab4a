"""Who is acting, for which organization, through which channel: the input of every service.

A `Principal` is built in exactly two ways: from a signed-in user's membership
(`accounts.selectors.principal_for_member`) or from a bearer credential (API key or OAuth token,
later issues). Both re-read the membership, so a member who leaves loses access at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.core.permissions import Permission, Role, role_allows

if TYPE_CHECKING:
    from accounts.orgs.models import Organization
    from accounts.users.models import User


class Channel(models.TextChoices):
    WEB = "web", _("Dashboard")
    API = "api", _("REST API")
    MCP = "mcp", _("MCP")
    SYSTEM = "system", _("System")


class CredentialKind(models.TextChoices):
    API_KEY = "api_key", _("API key")
    OAUTH = "oauth", _("OAuth app")


@dataclass(frozen=True, slots=True)
class Credential:
    kind: CredentialKind
    id: str
    label: str


class MissingPermission(PermissionDenied):
    """The principal lacks one permission; the message names it (a token's missing scope)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        super().__init__(permission.value)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    organization: Organization
    role: Role
    channel: Channel = Channel.WEB
    # None for a signed-in session (the role decides); a set of scope names for a bearer credential.
    scopes: frozenset[str] | None = None
    # A credential restricted to one project sees that project only.
    project_id: int | None = None
    credential: Credential | None = None
    ip: str | None = None
    user_agent: str = field(default="", repr=False)

    def can(self, permission: Permission) -> bool:
        if not role_allows(self.role, permission):
            return False
        return self.scopes is None or permission.value in self.scopes

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise MissingPermission(permission)
