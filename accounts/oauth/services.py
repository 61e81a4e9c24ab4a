"""Writes of OAuth grants: consent, revocation (by the person, an admin, the app, or a replay), cleanup.

Revoking a connection revokes every grant, refresh token and access token of it at once. Audit:
consent is recorded in the chosen organization (channel web), revocation where it happens, and a
refresh-token replay (channel api) in the connection's organization. Dynamic registration is
anonymous and belongs to no organization, so `oauth.client_registered` is recorded in an
organization when an app is first connected to it, with the registration details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit.models import AuditAction
from accounts.content.models import Project
from accounts.core.client import clean_ip
from accounts.core.credentials import HeldCredential
from accounts.core.permissions import Permission, Role, role_allows, with_implied_scopes
from accounts.core.principal import Channel, Principal
from accounts.core.toolpolicy import EVERYTHING, ToolPolicy, policy_change
from accounts.oauth.applications import app_principal, audit_app_event
from accounts.oauth.models import OAuthAccessToken, OAuthApplication, OAuthGrant, OAuthRefreshToken
from accounts.oauth.selectors import ConsentChoice, connection_get, connection_list_for_user
from accounts.orgs.models import Membership
from accounts.orgs.selectors import membership_get, principal_for_member
from accounts.users.models import User

logger = logging.getLogger(__name__)


T = TypeVar("T")


REGISTRATION_SCOPE = "oauth2_provider:registration"


def consent_validate(
    *,
    user: User,
    org_slug: str,
    project_slug: str,
    requested: list[str],
    chosen: list[str],
    tool_policy: ToolPolicy = EVERYTHING,
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
    # What the role cannot do is left out rather than refused: the page says so, and a token could
    # never use it anyway (Principal.can() checks the role too).
    scopes = [s for s in with_implied_scopes(chosen) if role_allows(role, Permission(s))]
    if not scopes:
        raise ValidationError(
            {
                "scopes": _("Choose at least one permission your role (%(role)s) in %(org)s has.")
                % {"role": role.label, "org": membership.organization.name}
            }
        )
    return ConsentChoice(
        organization=membership.organization,
        role=role,
        project=project,
        scopes=scopes,
        tool_policy=tool_policy,
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
    principal = app_principal(
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
        audit_app_event(
            principal=principal,
            action=AuditAction.OAUTH_CLIENT_REGISTERED,
            application=application,
            data={
                "registration": application.registration_source,
                "registered_at": application.created.isoformat(),
                "redirect_uris": application.redirect_uris.split(),
            },
        )
    audit_app_event(
        principal=principal,
        action=AuditAction.OAUTH_CONSENT_GRANTED,
        application=application,
        project=choice.project,
        data={
            "scopes": choice.scopes,
            "project": choice.project.slug if choice.project else None,
            "tool_policy": choice.tool_policy.describe(),
        },
    )
    return result


@transaction.atomic
def consent_record_denied(
    *, user: User, org_slug: str, application: OAuthApplication, ip: str | None, user_agent: str
) -> None:
    """Audit a Deny in the organization that was selected, if it is one of the person's (else nowhere)."""
    try:
        membership = membership_get(user=user, org_slug=org_slug)
    except Membership.DoesNotExist:
        return
    principal = app_principal(
        user=user,
        organization=membership.organization,
        application=application,
        channel=Channel.WEB,
        ip=ip,
        user_agent=user_agent,
        role=Role(membership.role),
    )
    audit_app_event(principal=principal, action=AuditAction.OAUTH_CONSENT_DENIED, application=application)


def _audit_replay(
    *,
    grant: OAuthGrant | OAuthRefreshToken,
    action: AuditAction,
    data: dict[str, Any],
    ip: str | None,
    user_agent: str,
) -> None:
    """Audit a replayed code or refresh token in its connection's organization (none: nothing to audit)."""
    organization = grant.organization if grant.organization_id is not None else None
    if organization is None:
        return
    audit_app_event(
        principal=app_principal(
            user=grant.user,
            organization=organization,
            application=grant.application,
            channel=Channel.API,
            ip=ip,
            user_agent=user_agent,
        ),
        action=action,
        application=grant.application,
        data={"user": grant.user.email, **data},
    )


def refresh_reuse_detected(*, refresh_token: OAuthRefreshToken, ip: str | None, user_agent: str) -> None:
    """A rotated refresh token came back too late: revoke its whole family and audit it."""
    with transaction.atomic():
        live = OAuthRefreshToken.objects.filter(token_family=refresh_token.token_family, revoked__isnull=True)
        if refresh_token.token_family is None or not live.exists():
            return  # already revoked as a whole (an earlier replay, or a deliberate revocation)
        OAuthRefreshToken.revoke_family(refresh_token.token_family)
        _audit_replay(
            grant=refresh_token,
            action=AuditAction.OAUTH_REFRESH_REUSE_DETECTED,
            data={"rotated_at": refresh_token.revoked.isoformat() if refresh_token.revoked else None},
            ip=ip,
            user_agent=user_agent,
        )
    logger.warning(
        "OAuth refresh token replayed for client %s in organization %s: token family revoked",
        refresh_token.application.client_id,
        refresh_token.organization_id,
    )


def code_reuse_detected(*, grant: OAuthGrant, ip: str | None, user_agent: str) -> None:
    """An authorization code came back after its exchange: revoke what it gave, and audit it."""
    with transaction.atomic():
        OAuthRefreshToken.revoke_family(grant.token_family)
        _audit_replay(
            grant=grant,
            action=AuditAction.OAUTH_CODE_REUSE_DETECTED,
            data={"exchanged_at": grant.used_at.isoformat() if grant.used_at else None},
            ip=ip,
            user_agent=user_agent,
        )
    logger.warning(
        "OAuth authorization code replayed for client %s in organization %s: its tokens revoked",
        grant.application.client_id,
        grant.organization_id,
    )


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
        audit_app_event(
            principal=app_principal(
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
def connection_revoke(
    *, principal: Principal, application: OAuthApplication, user: User, reason: str = "revoked"
) -> None:
    """Revoke one connection in the principal's organization: the person's own, or any for managers."""
    if principal.user is None or user.pk != principal.user.pk:
        principal.require(Permission.KEYS_MANAGE)
    _revoke_tokens(application_id=application.pk, organization_id=principal.organization.pk, user_id=user.pk)
    audit_app_event(
        principal=principal,
        action=AuditAction.OAUTH_APP_REVOKED,
        application=application,
        data={"user": user.email, "reason": reason},
    )


@transaction.atomic
def connection_set_tool_policy(
    *, principal: Principal, application: OAuthApplication, user: User, tool_policy: ToolPolicy
) -> int:
    """Change which MCP tools a connection may call: its person, or a manager; returns the tokens changed.

    Set on its grants and on its live refresh and access tokens, so a refresh keeps it; the access
    token's generation trigger (accounts migration 0007) makes every worker's cache let go."""
    current = connection_get(principal=principal, application=application, user=user)
    if current.tool_policy.to_json() == tool_policy.to_json():
        return 0
    filters = {
        "organization_id": principal.organization.pk,
        "application_id": application.pk,
        "user_id": user.pk,
    }
    stored = tool_policy.to_json()
    OAuthGrant.objects.filter(**filters).update(tool_policy=stored)
    live = OAuthRefreshToken.objects.filter(**filters, revoked__isnull=True)
    access_ids = [pk for pk in live.values_list("access_token_id", flat=True) if pk]
    changed = live.update(tool_policy=stored)
    OAuthAccessToken.objects.filter(Q(**filters) | Q(pk__in=access_ids)).update(tool_policy=stored)
    audit_app_event(
        principal=principal,
        action=AuditAction.OAUTH_TOOL_POLICY_CHANGED,
        application=application,
        data={"user": user.email, **policy_change(current.tool_policy, tool_policy)},
    )
    return changed


@transaction.atomic
def connection_revoke_all(*, user: User, ip: str | None, user_agent: str, reason: str = "revoked") -> int:
    """Revoke every connection of the signed-in person, in every organization; returns how many."""
    connections = connection_list_for_user(user=user)
    for conn in connections:
        principal = principal_for_member(
            user=user, org_slug=conn.organization.slug, ip=clean_ip(ip), user_agent=user_agent
        )
        connection_revoke(principal=principal, application=conn.application, user=user, reason=reason)
    return len(connections)


class OAuthConnections:
    """The person's OAuth connections, as a credential issuer (accounts/core/credentials.py)."""

    def active_for_user(self, *, user: User) -> list[HeldCredential]:
        return [
            HeldCredential(kind=str(_("OAuth app")), label=conn.label, organization=conn.organization.name)
            for conn in connection_list_for_user(user=user)
        ]

    def revoke_for_user(self, *, user: User, reason: str, ip: str | None, user_agent: str) -> int:
        return connection_revoke_all(user=user, ip=ip, user_agent=user_agent, reason=reason)


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
        audit_app_event(
            principal=principal,
            action=AuditAction.OAUTH_APP_REVOKED,
            application=application,
            data={"user": membership.user.email, "reason": "member_removed"},
        )
    return len(apps)


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
