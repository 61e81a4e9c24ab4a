"""Reads of OAuth grants: the consent page's choices and the Connected apps lists.

A *connection* is what a person sees on the Connected apps page: one app, acting as one member in one
organization, with every grant, refresh token and access token issued from that person's consents
for that pair. The organization (and optional project) is chosen on the consent page and stored on
the grant and on every token (accounts/oauth/validators.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Min, QuerySet
from django.utils import timezone

from accounts.audit.models import AuditAction, AuditEvent
from accounts.content.models import Project
from accounts.core.permissions import SCOPE_ORDER, Permission, Role
from accounts.core.principal import Principal
from accounts.core.toolpolicy import EVERYTHING, ToolPolicy
from accounts.oauth.applications import app_credential, app_domain, app_label
from accounts.oauth.models import OAuthApplication, OAuthRefreshToken
from accounts.orgs.models import Membership, Organization
from accounts.orgs.selectors import organization_list_for_user
from accounts.users.models import User

# What the Connected apps pages show as "someone replayed a secret of this connection".
REUSE_ACTIONS = (AuditAction.OAUTH_REFRESH_REUSE_DETECTED, AuditAction.OAUTH_CODE_REUSE_DETECTED)


@dataclass(frozen=True)
class ConsentChoice:
    organization: Organization
    role: Role
    project: Project | None
    scopes: list[str]
    tool_policy: ToolPolicy = EVERYTHING


def consent_organizations(*, user: User) -> list[tuple[Organization, Role]]:
    """The organizations a person may connect an app to (theirs), with their role in each."""
    memberships = Membership.all_orgs.filter(user_id=user.pk).select_related("organization")
    return sorted(
        ((m.organization, Role(m.role)) for m in memberships), key=lambda pair: pair[0].name.lower()
    )


def consent_projects(*, organizations: list[tuple[Organization, Role]]) -> list[Project]:
    """Active projects of the person's organizations, for the optional project restriction."""
    projects: list[Project] = []
    for organization, _role in organizations:
        projects.extend(
            Project.objects.for_org(organization)
            .filter(archived_at__isnull=True)
            .select_related("organization")
            .order_by("name")
        )
    return projects


@dataclass
class Connection:
    application: OAuthApplication
    organization: Organization
    user: User
    projects: list[Project] = field(default_factory=list)
    whole_organization: bool = False
    scopes: list[str] = field(default_factory=list)
    first_connected: datetime | None = None
    last_used: datetime | None = None
    access_valid: bool = False
    # The policy of its newest consent or change (a change sets every token of the connection).
    tool_policy: ToolPolicy = EVERYTHING
    newest: datetime | None = None

    @property
    def label(self) -> str:
        return app_label(self.application)

    @property
    def domain(self) -> str:
        return app_domain(self.application)

    @property
    def credential_id(self) -> str:
        """What the audit log records as this app's credential (its `?credential=` filter)."""
        return app_credential(self.application).id

    @property
    def scope_items(self) -> list[tuple[str, str]]:
        """(scope, what it allows in plain words), for the table."""
        return [(s, str(Permission(s).label)) for s in self.scopes]


def _connections(refresh_tokens: QuerySet[OAuthRefreshToken]) -> list[Connection]:
    """Group live refresh tokens (with their access tokens) into connections: two queries."""
    rows = list(
        refresh_tokens.filter(revoked__isnull=True, organization__isnull=False).select_related(
            "application", "organization", "project", "user", "access_token"
        )
    )
    first_seen = dict(
        OAuthRefreshToken.objects.filter(token_family__in={rt.token_family for rt in rows if rt.token_family})
        .values_list("token_family")
        .annotate(first=Min("created"))
        .values_list("token_family", "first")
    )
    grouped: dict[tuple[int, int, int], Connection] = {}
    now = timezone.now()
    for rt in rows:
        if rt.organization is None:  # excluded by the query above; this tells the type checker
            continue
        key = (rt.application_id, rt.organization.pk, rt.user_id)
        conn = grouped.get(key)
        if conn is None:
            conn = grouped[key] = Connection(
                application=rt.application, organization=rt.organization, user=rt.user
            )
        if rt.project is None:
            conn.whole_organization = True
        elif rt.project not in conn.projects:
            conn.projects.append(rt.project)
        if conn.newest is None or rt.created > conn.newest:
            conn.newest, conn.tool_policy = rt.created, ToolPolicy.from_json(rt.tool_policy)
        started = first_seen.get(rt.token_family, rt.created)
        conn.first_connected = min(filter(None, [conn.first_connected, started]))
        access = rt.access_token
        if access is not None:
            conn.scopes = [s for s in SCOPE_ORDER if s in set(conn.scopes) | set(access.scope.split())]
            if access.last_used_at and (conn.last_used is None or access.last_used_at > conn.last_used):
                conn.last_used = access.last_used_at
            conn.access_valid = conn.access_valid or access.expires > now
    return sorted(
        grouped.values(), key=lambda c: (c.label.lower(), c.organization.name.lower(), c.user.email)
    )


def connection_list_for_user(*, user: User) -> list[Connection]:
    """The signed-in person's connections, in the organizations they still belong to."""
    return _connections(
        OAuthRefreshToken.objects.filter(
            user_id=user.pk,
            organization__in=organization_list_for_user(user=user).order_by(),
        )
    )


def connection_list_for_org(*, principal: Principal) -> list[Connection]:
    """Every member's connections in the principal's organization (owners and admins)."""
    principal.require(Permission.KEYS_MANAGE)
    return _connections(OAuthRefreshToken.objects.filter(organization_id=principal.organization.pk))


def connection_get(*, principal: Principal, application: OAuthApplication, user: User) -> Connection:
    """One connection in the principal's organization: the person's own, or any for managers.
    Raises OAuthRefreshToken.DoesNotExist when there is none (or it is not theirs to see)."""
    if principal.user is None or user.pk != principal.user.pk:
        principal.require(Permission.KEYS_MANAGE)
    found = _connections(
        OAuthRefreshToken.objects.filter(
            organization_id=principal.organization.pk, application_id=application.pk, user_id=user.pk
        )
    )
    if not found:
        raise OAuthRefreshToken.DoesNotExist
    return found[0]


def reuse_events_for_user(*, user: User, limit: int = 10) -> list[AuditEvent]:
    """Recent `oauth.refresh_reuse_detected` events about the person's connections."""
    orgs = Membership.all_orgs.filter(user_id=user.pk).values("organization_id")
    return list(
        AuditEvent.all_orgs.filter(organization_id__in=orgs, actor_id=user.pk, action__in=REUSE_ACTIONS)
        .select_related("organization")
        .order_by("-created_at", "-id")[:limit]
    )


def reuse_events_for_org(*, principal: Principal, limit: int = 10) -> list[AuditEvent]:
    principal.require(Permission.KEYS_MANAGE)
    return list(
        AuditEvent.objects.for_org(principal.organization)
        .filter(action__in=REUSE_ACTIONS)
        .select_related("organization")
        .order_by("-created_at", "-id")[:limit]
    )


def connection_get_application(*, client_id: str) -> OAuthApplication:
    return OAuthApplication.objects.get(client_id=client_id)


def connection_user_in_org(*, principal: Principal, user_public_id: str) -> User:
    """A member of the principal's organization, by public id; raises User.DoesNotExist otherwise."""
    membership = (
        Membership.objects.visible_to(principal)
        .select_related("user")
        .filter(user__public_id=user_public_id)
        .first()
    )
    if membership is None:
        raise User.DoesNotExist
    return membership.user
