"""OAuth connections over django-oauth-toolkit's models: the bearer resolver, consent, revocation, cleanup.

A *connection* is what a person sees on the Connected apps page: one app, acting as one member in one
organization, with every grant, refresh token and access token issued from that person's consents
for that pair. Revoking it revokes all of them at once. The org (and optional project) is chosen on
the consent page and stored on the grant and on every token (accounts/oauth_validators.py).

Audit: consent is recorded in the chosen organization (channel web), revocation where it happens,
and a refresh-token replay (channel api) in the connection's organization. Dynamic registration is
anonymous and belongs to no organization, so `oauth.client_registered` is recorded in an
organization when an app is first connected to it, with the registration details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import AuditAction, audit_record
from accounts.bearer import InvalidToken
from accounts.client import clean_ip, clip_user_agent
from accounts.models import (
    AuditEvent,
    Membership,
    OAuthAccessToken,
    OAuthApplication,
    OAuthGrant,
    OAuthRefreshToken,
    Organization,
    Project,
    User,
)
from accounts.oauth_validators import ACCESS_TOKEN_PREFIX, token_checksum
from accounts.permissions import TOKEN_SCOPES, Permission, Role, role_allows
from accounts.principal import Channel, Credential, CredentialKind, Principal
from accounts.selectors import membership_get, organization_list_for_user, principal_for_member

logger = logging.getLogger(__name__)
T = TypeVar("T")

LAST_USED_RESOLUTION = timedelta(seconds=60)
SCOPE_ORDER: tuple[str, ...] = tuple(p.value for p in TOKEN_SCOPES)
REGISTRATION_SCOPE = "oauth2_provider:registration"


# Applications


def app_credential(application: OAuthApplication) -> Credential:
    return Credential(kind=CredentialKind.OAUTH, id=application.client_id[:64], label=app_label(application))


def app_label(application: OAuthApplication) -> str:
    """The app's own name, else its CIMD domain, else its client id."""
    return (application.name or app_domain(application) or application.client_id)[:200]


def app_domain(application: OAuthApplication) -> str:
    """The host that vouches for the app: the CIMD URL's, else the one of its first https redirect."""
    if application.registration_source == OAuthApplication.RegistrationSource.CIMD:
        return urlsplit(application.client_id).hostname or ""
    return ""


def app_redirect_hosts(application: OAuthApplication) -> list[str]:
    hosts = []
    for uri in application.redirect_uris.split():
        parts = urlsplit(uri)
        host = parts.hostname or f"{parts.scheme}://"
        if host not in hosts:
            hosts.append(host)
    return hosts


def app_is_loopback(application: OAuthApplication) -> bool:
    """Every redirect goes to this computer: anything running on it could be that app."""
    hosts = [urlsplit(uri).hostname for uri in application.redirect_uris.split()]
    return bool(hosts) and all(host in {"127.0.0.1", "::1", "localhost"} for host in hosts)


def app_is_verified(application: OAuthApplication) -> bool:
    """Only a CIMD client's name is vouched for (by its https domain); a registered name is self-chosen."""
    return application.registration_source == OAuthApplication.RegistrationSource.CIMD


# The bearer resolver (contract with accounts/bearer.py)


def access_token_get_for_authentication(*, checksum: str) -> OAuthAccessToken:
    """The access token with this checksum, across organizations, in ONE query.

    Joins the application, user, organization and project, and annotates `member_role`: the user's
    current role in the token's organization, or None once they have left it.
    """
    member_role = Membership.all_orgs.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("user_id")
    ).values("role")[:1]
    return (
        OAuthAccessToken.objects.select_related("application", "user", "organization", "project")
        .annotate(member_role=Subquery(member_role))
        .get(token_checksum=checksum)
    )


def principal_from_access_token(
    *, token: str, channel: Channel, ip: str | None, user_agent: str
) -> Principal:
    """Resolve a `wat_…` OAuth access token to the member it acts as; raises InvalidToken. One query."""
    if not token.startswith(ACCESS_TOKEN_PREFIX) or len(token) > 200:
        raise InvalidToken
    try:
        access = access_token_get_for_authentication(checksum=token_checksum(token))
    except OAuthAccessToken.DoesNotExist:
        raise InvalidToken from None
    now = timezone.now()
    user, organization, application = access.user, access.organization, access.application
    if (
        access.expires <= now
        or organization is None
        or application is None
        or user is None
        or not user.is_active
        or access.member_role is None  # type: ignore[attr-defined]
        or settings.MCP_RESOURCE_URL not in (access.resource or [])
    ):
        raise InvalidToken
    if access.last_used_at is None or now - access.last_used_at >= LAST_USED_RESOLUTION:
        # One conditional UPDATE: at most one write a minute per token, whatever the request rate.
        OAuthAccessToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION), pk=access.pk
        ).update(last_used_at=now)
    return Principal(
        user=user,
        organization=organization,
        role=Role(access.member_role),  # type: ignore[attr-defined]
        channel=channel,
        scopes=frozenset(access.scope.split()),
        project_id=access.project_id,
        credential=app_credential(application),
        ip=clean_ip(ip),
        user_agent=clip_user_agent(user_agent),
    )


# Consent


@dataclass(frozen=True)
class ConsentChoice:
    organization: Organization
    role: Role
    project: Project | None
    scopes: list[str]


def consent_organizations(*, user: User) -> list[tuple[Organization, Role]]:
    """The organizations a person may connect an app to (theirs), with their role in each."""
    memberships = Membership.all_orgs.filter(user_id=user.pk).select_related("organization")
    return sorted(
        ((m.organization, Role(m.role)) for m in memberships), key=lambda pair: pair[0].name.lower()
    )


def consent_scopes_for_role(*, role: Role, requested: list[str]) -> list[str]:
    """The requested scopes the role can grant, in canonical order."""
    return [s for s in SCOPE_ORDER if s in requested and role_allows(role, Permission(s))]


def consent_validate(
    *, user: User, org_slug: str, project_slug: str, requested: list[str], chosen: list[str]
) -> ConsentChoice:
    """Check a consent form: own organization, one of its active projects, scopes within role and request."""
    if not org_slug:
        raise ValidationError({"organization": _("Choose the organization the app may act in.")})
    try:
        membership = membership_get(user=user, org_slug=org_slug)
    except Membership.DoesNotExist:
        raise ValidationError({"organization": _("Choose one of your organizations.")}) from None
    role = Role(membership.role)
    project = None
    if project_slug:
        project = (
            Project.objects.for_org(membership.organization)
            .filter(slug=project_slug, archived_at__isnull=True)
            .first()
        )
        if project is None:
            raise ValidationError({"project": _("Choose one of this organization's active projects.")})
    unknown = sorted(set(chosen) - set(requested))
    if unknown:
        raise ValidationError(
            {"scopes": _("The app did not ask for: %(scopes)s.") % {"scopes": ", ".join(unknown)}}
        )
    # Writing what you cannot read makes no sense, so a write scope brings its read scope along. What
    # the role cannot do is left out rather than refused: the page says so, and a token could never
    # use it anyway (Principal.can() checks the role too).
    wanted = set(chosen) | {s.replace(":write", ":read") for s in chosen if s.endswith(":write")}
    scopes = [s for s in SCOPE_ORDER if s in wanted and role_allows(role, Permission(s))]
    if not scopes:
        raise ValidationError(
            {
                "scopes": _("Choose at least one permission your role (%(role)s) in %(org)s has.")
                % {"role": role.label, "org": membership.organization.name}
            }
        )
    return ConsentChoice(organization=membership.organization, role=role, project=project, scopes=scopes)


def _audit_app(
    *,
    principal: Principal,
    action: AuditAction,
    application: OAuthApplication,
    project: Project | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Audit something that happened to an app's access: the app is the target, its client id in the data."""
    audit_record(
        principal=principal,
        action=action,
        target=application,
        target_label=app_label(application),
        project=project,
        data={"client_id": application.client_id, **(data or {})},
    )


def _app_principal(
    *,
    user: User | None,
    organization: Organization,
    application: OAuthApplication,
    channel: Channel,
    ip: str | None,
    user_agent: str,
    role: Role | None = None,
) -> Principal:
    if role is None and user is not None:
        membership = Membership.objects.for_org(organization).filter(user_id=user.pk).first()
        role = Role(membership.role) if membership else Role.VIEWER
    return Principal(
        user=user,  # type: ignore[arg-type]
        organization=organization,
        role=role or Role.VIEWER,
        channel=channel,
        credential=app_credential(application),
        ip=clean_ip(ip),
        user_agent=clip_user_agent(user_agent),
    )


@transaction.atomic
def consent_allow(
    *,
    user: User,
    choice: ConsentChoice,
    application: OAuthApplication,
    ip: str | None,
    user_agent: str,
    issue: Callable[[], T],
) -> T:
    """Allow: `issue()` makes DOT write the grant; audited in the chosen organization, in one transaction."""
    principal = _app_principal(
        user=user,
        organization=choice.organization,
        application=application,
        channel=Channel.WEB,
        ip=ip,
        user_agent=user_agent,
        role=choice.role,
    )
    first_connection = not (
        OAuthGrant.objects.filter(application=application, organization=choice.organization).exists()
        or OAuthRefreshToken.objects.filter(
            application=application, organization=choice.organization
        ).exists()
    )
    result = issue()
    if first_connection:
        _audit_app(
            principal=principal,
            action=AuditAction.OAUTH_CLIENT_REGISTERED,
            application=application,
            data={
                "registration": application.registration_source,
                "registered_at": application.created.isoformat(),
                "redirect_uris": application.redirect_uris.split(),
            },
        )
    _audit_app(
        principal=principal,
        action=AuditAction.OAUTH_CONSENT_GRANTED,
        application=application,
        project=choice.project,
        data={"scopes": choice.scopes, "project": choice.project.slug if choice.project else None},
    )
    return result


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


@transaction.atomic
def consent_record_denied(
    *, user: User, org_slug: str, application: OAuthApplication, ip: str | None, user_agent: str
) -> None:
    """Audit a Deny in the organization that was selected, if it is one of the person's (else nowhere)."""
    try:
        membership = membership_get(user=user, org_slug=org_slug)
    except Membership.DoesNotExist:
        return
    principal = _app_principal(
        user=user,
        organization=membership.organization,
        application=application,
        channel=Channel.WEB,
        ip=ip,
        user_agent=user_agent,
        role=Role(membership.role),
    )
    _audit_app(principal=principal, action=AuditAction.OAUTH_CONSENT_DENIED, application=application)


# Refresh-token replay (called by the validator)


def refresh_reuse_detected(*, refresh_token: OAuthRefreshToken, ip: str | None, user_agent: str) -> None:
    """A rotated refresh token came back too late: revoke its whole family and audit it."""
    with transaction.atomic():
        live = OAuthRefreshToken.objects.filter(token_family=refresh_token.token_family, revoked__isnull=True)
        if refresh_token.token_family is None or not live.exists():
            return  # already revoked as a whole (an earlier replay, or a deliberate revocation)
        OAuthRefreshToken.revoke_family(refresh_token.token_family)
        organization = refresh_token.organization if refresh_token.organization_id else None
        if organization is None:
            return
        _audit_app(
            principal=_app_principal(
                user=refresh_token.user,
                organization=organization,
                application=refresh_token.application,
                channel=Channel.API,
                ip=ip,
                user_agent=user_agent,
            ),
            action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED,
            application=refresh_token.application,
            data={
                "user": refresh_token.user.email,
                "rotated_at": refresh_token.revoked.isoformat() if refresh_token.revoked else None,
            },
        )
    logger.warning(
        "OAuth refresh token replayed for client %s in organization %s: token family revoked",
        refresh_token.application.client_id,
        refresh_token.organization_id,
    )


# RFC 7009 revocation (called by the validator)


def token_revoked_by_client(
    *,
    checksum: str,
    application: OAuthApplication,
    revoke: Callable[[], None],
    ip: str | None,
    user_agent: str,
) -> None:
    """An app revokes one of its own tokens: `revoke()` has DOT do it; audited in the token's organization."""
    with transaction.atomic():
        lookup = {"token_checksum": checksum, "application": application}
        token: OAuthAccessToken | OAuthRefreshToken | None = (
            OAuthAccessToken.objects.select_related("organization", "user").filter(**lookup).first()
            or OAuthRefreshToken.objects.select_related("organization", "user")
            .filter(**lookup, revoked__isnull=True)
            .first()
        )
        revoke()
        if token is None or token.organization is None or token.user is None:
            return  # unknown, already revoked, or a registration token: nothing a person granted
        _audit_app(
            principal=_app_principal(
                user=token.user,
                organization=token.organization,
                application=application,
                channel=Channel.API,
                ip=ip,
                user_agent=user_agent,
            ),
            action=AuditAction.OAUTH_APP_REVOKED,
            application=application,
            data={
                "user": token.user.email,
                "reason": "client_revoked",
                "token_type": "access_token" if isinstance(token, OAuthAccessToken) else "refresh_token",
            },
        )


# Connections


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


def reuse_events_for_user(*, user: User, limit: int = 10) -> list[AuditEvent]:
    """Recent `oauth.refresh_reuse_detected` events about the person's connections."""
    orgs = Membership.all_orgs.filter(user_id=user.pk).values("organization_id")
    return list(
        AuditEvent.all_orgs.filter(
            organization_id__in=orgs, actor_id=user.pk, action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED
        )
        .select_related("organization")
        .order_by("-created_at", "-id")[:limit]
    )


def reuse_events_for_org(*, principal: Principal, limit: int = 10) -> list[AuditEvent]:
    principal.require(Permission.KEYS_MANAGE)
    return list(
        AuditEvent.objects.for_org(principal.organization)
        .filter(action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED)
        .select_related("organization")
        .order_by("-created_at", "-id")[:limit]
    )


def _revoke_tokens(*, application_id: int | None, organization_id: int, user_id: int) -> int:
    """Revoke every grant, refresh and access token of one (app, organization, user): set-based."""
    now = timezone.now()
    filters: dict[str, Any] = {"organization_id": organization_id, "user_id": user_id}
    if application_id is not None:
        filters["application_id"] = application_id
    OAuthGrant.objects.filter(**filters).delete()
    access_ids = list(
        OAuthRefreshToken.objects.filter(**filters, revoked__isnull=True).values_list(
            "access_token_id", flat=True
        )
    )
    revoked = OAuthRefreshToken.objects.filter(**filters, revoked__isnull=True).update(
        revoked=now, updated=now, access_token=None
    )
    OAuthAccessToken.objects.filter(Q(**filters) | Q(pk__in=[pk for pk in access_ids if pk])).delete()
    return revoked


@transaction.atomic
def connection_revoke(*, principal: Principal, application: OAuthApplication, user: User) -> None:
    """Revoke one connection in the principal's organization: the person's own, or any for managers."""
    if user.pk != principal.user.pk:
        principal.require(Permission.KEYS_MANAGE)
    _revoke_tokens(application_id=application.pk, organization_id=principal.organization.pk, user_id=user.pk)
    _audit_app(
        principal=principal,
        action=AuditAction.OAUTH_APP_REVOKED,
        application=application,
        data={"user": user.email, "reason": "revoked"},
    )


@transaction.atomic
def connection_revoke_all(*, user: User, ip: str | None, user_agent: str) -> int:
    """Revoke every connection of the signed-in person, in every organization; returns how many."""
    connections = connection_list_for_user(user=user)
    for conn in connections:
        principal = principal_for_member(
            user=user, org_slug=conn.organization.slug, ip=clean_ip(ip), user_agent=user_agent
        )
        connection_revoke(principal=principal, application=conn.application, user=user)
    return len(connections)


def connections_revoke_for_member(*, principal: Principal, membership: Membership) -> int:
    """Revoke a leaving or removed member's connections in the organization (called in member_remove)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("connections_revoke_for_member() runs inside member_remove's transaction")
    apps = list(
        OAuthApplication.objects.filter(
            pk__in=OAuthRefreshToken.objects.filter(
                organization_id=membership.organization_id, user_id=membership.user_id, revoked__isnull=True
            ).values("application_id")
        )
    )
    _revoke_tokens(
        application_id=None, organization_id=membership.organization_id, user_id=membership.user_id
    )
    for application in apps:
        _audit_app(
            principal=principal,
            action=AuditAction.OAUTH_APP_REVOKED,
            application=application,
            data={"user": membership.user.email, "reason": "member_removed"},
        )
    return len(apps)


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


# Registrations


def application_clear_unused(*, days: int | None = None, dry_run: bool = False) -> int:
    """Delete dynamically registered apps never used in `days` days (CIMD apps re-register themselves)."""
    cutoff = timezone.now() - timedelta(days=days if days is not None else settings.OAUTH_UNUSED_CLIENT_DAYS)
    used = (
        Q(pk__in=OAuthRefreshToken.objects.filter(revoked__isnull=True).values("application_id"))
        | Q(pk__in=OAuthGrant.objects.filter(created__gte=cutoff).values("application_id"))
        | Q(
            pk__in=OAuthAccessToken.objects.exclude(scope=REGISTRATION_SCOPE)
            .filter(Q(created__gte=cutoff) | Q(last_used_at__gte=cutoff))
            .values("application_id")
        )
    )
    stale = OAuthApplication.objects.filter(
        registration_source__in=[
            OAuthApplication.RegistrationSource.DCR,
            OAuthApplication.RegistrationSource.CIMD,
        ],
        created__lt=cutoff,
    ).exclude(used)
    count = stale.count()
    if not dry_run and count:
        with transaction.atomic():
            stale.delete()
    return count
