"""Reads of organizations, memberships and invitations.

Every org-owned query starts from a `Principal` (or a known organization); the few that cannot (a
signed-in user finding their own organizations, an invitation link) say why.
"""

from __future__ import annotations

from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.core.permissions import Permission, Role
from accounts.core.principal import Channel, Principal
from accounts.core.rls import scope_of_secret
from accounts.orgs.models import Invitation, Membership, Organization
from accounts.users.models import User


def membership_get(*, user: User, org_slug: str) -> Membership:
    """The user's membership of the organization with this slug; DoesNotExist for non-members."""
    return Membership.all_orgs.select_related("organization").get(
        user_id=user.pk, organization__slug=org_slug
    )


def principal_for_member(
    *, user: User, org_slug: str, channel: Channel = Channel.WEB, ip: str | None = None, user_agent: str = ""
) -> Principal:
    """The one resolver for a signed-in person: raises Organization.DoesNotExist for non-members."""
    try:
        membership = membership_get(user=user, org_slug=org_slug)
    except Membership.DoesNotExist:
        raise Organization.DoesNotExist from None
    return Principal(
        user=user,
        organization=membership.organization,
        role=Role(membership.role),
        channel=channel,
        ip=ip,
        user_agent=user_agent,
    )


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's own memberships, with their organizations, by organization name."""
    return (
        Membership.all_orgs.filter(user_id=user.pk)
        .select_related("organization")
        .order_by("organization__name")
    )


def organization_list_for_user(*, user: User) -> QuerySet[Organization]:
    """The organizations a user belongs to, by name."""
    return Organization.objects.filter(memberships_via_user(user)).order_by("name")


def memberships_via_user(user: User) -> Q:
    return Q(pk__in=Membership.all_orgs.filter(user_id=user.pk).values("organization_id"))


def member_list(*, principal: Principal) -> QuerySet[Membership]:
    """Members of the principal's organization, owners first, then by email."""
    principal.require(Permission.MEMBERS_READ)
    owners_first = Case(*(When(role=role, then=Value(-role.rank)) for role in Role), default=Value(0))
    return (
        Membership.objects.visible_to(principal).select_related("user").order_by(owners_first, "user__email")
    )


def member_get(*, principal: Principal, public_id: str) -> Membership:
    principal.require(Permission.MEMBERS_READ)
    return Membership.objects.visible_to(principal).select_related("user").get(public_id=public_id)


def member_get_by_email(*, principal: Principal, email: str) -> Membership:
    """The member with this email (any case); someone who is not a member is DoesNotExist."""
    principal.require(Permission.MEMBERS_READ)
    # Emails are stored lowercased (user_create), so an exact, indexed match does.
    members = Membership.objects.visible_to(principal).select_related("user")
    return members.get(user__email=email.strip().lower())


def owner_count(*, org: Organization) -> int:
    return Membership.objects.for_org(org).filter(role=Role.OWNER).count()


def invitation_list_pending(*, principal: Principal) -> QuerySet[Invitation]:
    principal.require(Permission.MEMBERS_MANAGE)
    return (
        Invitation.objects.visible_to(principal)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def invitation_list_for_recipient(*, user: User) -> QuerySet[Invitation]:
    """Pending invitations to the user's address, across organizations, once that address is confirmed.

    An unconfirmed account has not shown that it reads the inbox, so it sees none (not even a count):
    otherwise signing up with someone else's address would reveal who invited them, where and as what.
    """
    if not user.email_verified:
        return Invitation.all_orgs.none()
    return (
        Invitation.all_orgs.filter(
            email=user.email.lower(),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .exclude(organization_id__in=Membership.all_orgs.filter(user_id=user.pk).values("organization_id"))
        .select_related("organization", "invited_by")
        .order_by("-created_at")
    )


def invitation_get(*, principal: Principal, public_id: str) -> Invitation:
    """One invitation of the principal's organization; another organization's is DoesNotExist."""
    principal.require(Permission.MEMBERS_MANAGE)
    return Invitation.objects.visible_to(principal).get(public_id=public_id)


def invitation_get_by_token_hash(*, token_hash: str) -> Invitation:
    """An invitation found by its secret link, across organizations: the secret is the authorization."""
    with scope_of_secret(kind="invitation", lookup=token_hash):
        return Invitation.all_orgs.select_related("organization", "invited_by").get(token_hash=token_hash)
