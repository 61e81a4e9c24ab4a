"""The bearer resolver for `wat_…` OAuth access tokens (registered with accounts.core.bearer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.core.bearer import InvalidToken
from accounts.core.client import clean_ip, clip_user_agent
from accounts.core.credential_cache import Resolved
from accounts.core.permissions import Role
from accounts.core.principal import Channel, Principal
from accounts.core.rls import scope_of_secret, tenant_scope
from accounts.core.secrecy import ACCESS_TOKEN_PREFIX
from accounts.core.toolpolicy import ToolPolicy
from accounts.oauth.applications import app_credential
from accounts.oauth.models import OAuthAccessToken
from accounts.oauth.tokens import token_checksum
from accounts.orgs.models import CredentialGeneration, Membership

LAST_USED_RESOLUTION = timedelta(seconds=60)


def access_token_get_for_authentication(*, checksum: str) -> OAuthAccessToken:
    """The access token with this checksum, across organizations, in ONE query.

    Joins the application, user, organization and project, and annotates `member_role`: the user's
    current role in the token's organization, or None once they have left it; and `generation`: the
    organization's credential generation, in the same statement (accounts/core/credential_cache.py).
    """
    member_role = Membership.all_orgs.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("user_id")
    ).values("role")[:1]
    generation = CredentialGeneration.objects.filter(organization_id=OuterRef("organization_id")).values(
        "value"
    )[:1]
    with scope_of_secret(kind="access_token", lookup=checksum):
        return (
            OAuthAccessToken.objects.select_related("application", "user", "organization", "project")
            .annotate(member_role=Subquery(member_role), generation=Subquery(generation))
            .get(token_checksum=checksum)
        )


def resource_of(channel: Channel) -> str | None:
    """The resource (RFC 8707) a token must be bound to for this channel: only MCP takes OAuth tokens.

    The authorization server issues tokens for `PUBLIC_URL/mcp` only (accounts/oauth/validators.py);
    the REST API is another resource, and takes API keys.
    """
    return settings.MCP_RESOURCE_URL if channel == Channel.MCP else None


def resolve_access_token(*, token: str, channel: Channel, ip: str | None, user_agent: str) -> Resolved:
    """Resolve a `wat_…` OAuth access token to the member it acts as; raises InvalidToken. One query."""
    resource = resource_of(channel)
    if resource is None or not token.startswith(ACCESS_TOKEN_PREFIX) or len(token) > 200:
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
        or resource not in (access.resource or [])
    ):
        raise InvalidToken

    def record_use(*, when: float, ip: str | None) -> None:
        # One conditional UPDATE: at most one write a minute per token, whatever the request rate.
        moment = datetime.fromtimestamp(when, tz=UTC)
        with tenant_scope(organization_id=organization.pk):
            OAuthAccessToken.objects.filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=moment - LAST_USED_RESOLUTION), pk=access.pk
            ).update(last_used_at=moment)

    if access.last_used_at is None or now - access.last_used_at >= LAST_USED_RESOLUTION:
        record_use(when=now.timestamp(), ip=None)
    principal = Principal(
        user=user,
        organization=organization,
        role=Role(access.member_role),  # type: ignore[attr-defined]
        channel=channel,
        scopes=frozenset(access.scope.split()),
        project=access.project,
        credential=app_credential(application),
        tool_policy=ToolPolicy.from_json(access.tool_policy),
        ip=clean_ip(ip),
        user_agent=clip_user_agent(user_agent),
    )
    return Resolved(
        principal=principal,
        generation=access.generation,  # type: ignore[attr-defined]
        expires_at=access.expires,
        record_use=record_use,
    )
