"""Who is acting, for which organization, through which channel: the input of every service.

A `Principal` is built from a signed-in user's membership (`accounts.orgs.selectors.principal_for_member`)
or from a bearer credential (`accounts.core.bearer.resolve_bearer`: an API key or an OAuth token).
Both re-read the membership, so a member who leaves loses access at once. The platform itself (an
expiry sweep, an operator's command) acts as a principal with no user (`system_principal`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.core.permissions import Permission, Role, role_allows
from accounts.core.toolpolicy import ToolMode, ToolPolicy

if TYPE_CHECKING:
    from accounts.content.models import Project
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


def system_principal(*, org: Organization) -> Principal:
    """The platform itself (expiry sweep, operator commands): no person, channel `system`."""
    return Principal(user=None, organization=org, role=Role.OWNER, channel=Channel.SYSTEM)


class MissingPermission(PermissionDenied):
    """The principal lacks one permission; the message names it (a token's missing scope)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        super().__init__(permission.value)


@dataclass(frozen=True, slots=True)
class Principal:
    # None for the platform itself (channel `system`): audited with no actor, which is the truth.
    user: User | None
    organization: Organization
    role: Role
    channel: Channel = Channel.WEB
    # None for a signed-in session (the role decides); a set of scope names for a bearer credential.
    scopes: frozenset[str] | None = None
    # A credential restricted to one project sees that project only.
    project: Project | None = None
    credential: Credential | None = None
    # None for a signed-in session; a bearer credential's policy: which MCP tools it may call.
    tool_policy: ToolPolicy | None = None
    ip: str | None = None
    user_agent: str = field(default="", repr=False)

    @property
    def project_id(self) -> int | None:
        return self.project.pk if self.project is not None else None

    def can(self, permission: Permission) -> bool:
        if not role_allows(self.role, permission):
            return False
        return self.scopes is None or permission.value in self.scopes

    def tool_mode(self, name: str) -> ToolMode:
        """What the credential's tool policy says about one MCP tool (scopes are `can()`'s business)."""
        return ToolMode.ALLOWED if self.tool_policy is None else self.tool_policy.mode(name)

    @property
    def person(self) -> User:
        """The user acting; only services a person starts ask for it (a system principal has none)."""
        if self.user is None:
            raise PermissionDenied("This needs a person, not the system.")
        return self.user

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise MissingPermission(permission)
