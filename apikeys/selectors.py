"""Reads of API keys: the dashboard list (scoped by the principal) and the bearer lookup (by digest)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.core.permissions import Permission, Role
from accounts.core.principal import CredentialKind, MissingPermission, Principal
from accounts.core.rls import scope_of_secret
from accounts.orgs.models import CredentialGeneration, Membership, Organization
from apikeys.models import ApiKey, ApiKeyQuerySet


def apikey_visible(*, principal: Principal) -> ApiKeyQuerySet:
    """Keys the principal may see: every key of the organization for managers, else their own.

    Everyone sees their own keys whatever their role today: a member demoted to viewer cannot create
    keys any more, but must still find, and revoke, the ones that act for them.
    """
    if principal.scopes is not None:
        # Keys are managed in the dashboard, signed in; no token scope reaches them.
        raise MissingPermission(Permission.KEYS_MANAGE)
    queryset = ApiKey.objects.visible_to(principal)
    if not principal.can(Permission.KEYS_MANAGE):
        queryset = queryset.filter(created_by_id=principal.person.pk)
    return queryset


def apikey_list(*, principal: Principal, valid: bool = True) -> QuerySet[ApiKey]:
    """Valid keys (or, with valid=False, revoked and expired ones) newest first, ready for the list page."""
    queryset = apikey_visible(principal=principal)
    queryset = queryset.valid() if valid else queryset.invalid()
    return queryset.select_related("project", "created_by", "revoked_by", "replaced_by").order_by(
        "-created_at", "-id"
    )


def apikey_count_invalid(*, principal: Principal) -> int:
    """How many revoked or expired keys the principal can see, for the list page's second tab."""
    return apikey_visible(principal=principal).invalid().count()


def apikey_get(*, principal: Principal, public_id: str) -> ApiKey:
    """One key the principal may see; another member's (to a non-manager) or org's is DoesNotExist."""
    return (
        apikey_visible(principal=principal)
        .select_related("project", "created_by", "replaced_by")
        .get(public_id=public_id)
    )


def apikey_get_for_authentication(*, digest: str) -> ApiKey:
    """The key with this digest, across organizations (the secret is the authorization), in ONE query.

    Joins the organization, creator and project, and annotates `creator_role`: the creator's current
    role in the key's organization, or None once they have left it; and `generation`: the
    organization's credential generation, read in the same statement (accounts/core/credential_cache.py).
    """
    creator_role = Membership.all_orgs.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("created_by_id")
    ).values("role")[:1]
    generation = CredentialGeneration.objects.filter(organization_id=OuterRef("organization_id")).values(
        "value"
    )[:1]
    with scope_of_secret(kind="apikey", lookup=digest):
        return (
            ApiKey.all_orgs.select_related("organization", "created_by", "project")
            .annotate(creator_role=Subquery(creator_role), generation=Subquery(generation))
            .get(digest=digest)
        )


def apikey_list_expiry_due(*, org: Organization) -> QuerySet[ApiKey]:
    """Keys of one organization that have expired but whose expiry is not yet in the audit log."""
    return (
        ApiKey.objects.for_org(org)
        .filter(expiry_recorded_at__isnull=True, expires_at__lte=timezone.now(), revoked_at__isnull=True)
        .select_related("project", "created_by")
        .order_by("expires_at", "id")
    )


def org_first_owner(*, org: Organization) -> Membership:
    """The longest-standing owner: who a key made from the command line acts as by default."""
    return (
        Membership.objects.for_org(org)
        .filter(role=Role.OWNER)
        .select_related("user")
        .earliest("created_at", "id")
    )


def apikey_get_current(*, principal: Principal) -> ApiKey:
    """The key a bearer principal authenticated with: a key may always read about itself."""
    if principal.credential is None or principal.credential.kind != CredentialKind.API_KEY:
        raise ApiKey.DoesNotExist
    return (
        ApiKey.objects.visible_to(principal).select_related("project").get(public_id=principal.credential.id)
    )
