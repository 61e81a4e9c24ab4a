"""The role matrix, in one place. Every channel (dashboard, REST API, MCP) asks `Principal.can()`.

A signed-in person may do what their role allows. A bearer credential (API key, OAuth token) may do
what the role of the member behind it allows *and* what its scopes grant: permissions without a
scope (managing members, keys of others, organization settings) are never reachable by a token.
"""

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")
    VIEWER = "viewer", _("Viewer")

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Permission(models.TextChoices):
    # Scopes a bearer credential can carry; the value is the scope name.
    PROJECTS_READ = "projects:read", _("Read projects")
    PROJECTS_WRITE = "projects:write", _("Create, edit and archive projects")
    DOCUMENTS_READ = "documents:read", _("Read documents")
    DOCUMENTS_WRITE = "documents:write", _("Create, edit and delete documents")
    MEMBERS_READ = "members:read", _("See members")
    AUDIT_READ = "audit:read", _("Read the audit log")
    # Dashboard-only permissions: no scope grants them to a token.
    MEMBERS_MANAGE = "members:manage", _("Invite, change and remove members")
    KEYS_CREATE = "keys:create", _("Create own API keys")
    KEYS_MANAGE = "keys:manage", _("See and revoke every API key and connection")
    ORG_MANAGE = "org:manage", _("Change organization settings")


TOKEN_SCOPES: tuple[Permission, ...] = (
    Permission.PROJECTS_READ,
    Permission.PROJECTS_WRITE,
    Permission.DOCUMENTS_READ,
    Permission.DOCUMENTS_WRITE,
    Permission.MEMBERS_READ,
    Permission.AUDIT_READ,
)
READ_ONLY_SCOPES: tuple[Permission, ...] = tuple(p for p in TOKEN_SCOPES if p.value.endswith(":read"))
# Scope names in their canonical order: how every list of scopes is shown and stored.
SCOPE_ORDER: tuple[str, ...] = tuple(p.value for p in TOKEN_SCOPES)


def with_implied_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes in canonical order, each write scope with its read scope; unknown names dropped.

    Writing what you cannot read makes no sense (an update answers with the object it changed), so
    every way a token gets scopes (a key, a consent) adds the read scope of each write scope.
    """
    wanted = set(scopes)
    wanted |= {scope.replace(":write", ":read") for scope in wanted if scope.endswith(":write")}
    return [scope for scope in SCOPE_ORDER if scope in wanted]


_VIEWER = {Permission.PROJECTS_READ, Permission.DOCUMENTS_READ, Permission.MEMBERS_READ}
_MEMBER = _VIEWER | {Permission.PROJECTS_WRITE, Permission.DOCUMENTS_WRITE, Permission.KEYS_CREATE}
_ADMIN = _MEMBER | {
    Permission.AUDIT_READ,
    Permission.MEMBERS_MANAGE,
    Permission.KEYS_MANAGE,
    Permission.ORG_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.MEMBER: frozenset(_MEMBER),
    Role.ADMIN: frozenset(_ADMIN),
    Role.OWNER: frozenset(_ADMIN),
}


def role_allows(role: Role | str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[Role(role)]


def can_assign_role(*, actor_role: Role | str, current: Role | str | None, new: Role | str) -> bool:
    """Admins manage members up to admin; only owners touch owners or make new ones."""
    actor, new_role = Role(actor_role), Role(new)
    if not role_allows(actor, Permission.MEMBERS_MANAGE):
        return False
    if actor == Role.OWNER:
        return True
    return new_role != Role.OWNER and (current is None or Role(current) != Role.OWNER)
