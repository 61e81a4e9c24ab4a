"""Writes of organizations, members and invitations: checked, validated and audited in one transaction."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.core.permissions import Permission, Role, can_assign_role
from accounts.core.principal import Principal
from accounts.core.rls import tenant_scope
from accounts.core.secrecy import token_digest
from accounts.core.services import validated_save
from accounts.orgs.models import Invitation, Membership, Organization
from accounts.orgs.selectors import invitation_get_by_token_hash, owner_count
from accounts.users.models import User

logger = logging.getLogger(__name__)


# Slugs that read as a page rather than an organization in /orgs/<slug>/ links, now or later.
# fmt: off
RESERVED_ORG_SLUGS = frozenset({
    "new", "create", "edit", "settings", "admin", "api", "mcp", "oauth", "static", "media", "login",
    "logout", "signup", "account", "accounts", "invitations", "organizations", "orgs", "help", "www",
})


def _unique_org_slug(name: str) -> str:
    base = slugify(name)[:40] or "org"
    slug, n = base, 1
    while slug in RESERVED_ORG_SLUGS or Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _org_slug_taken() -> ValidationError:
    return ValidationError({"slug": _("Another organization already uses this address. Choose another one.")})


def _ensure_org_slug_available(slug: str) -> None:
    if slug in RESERVED_ORG_SLUGS:
        raise ValidationError({"slug": _("This address is reserved. Choose another one.")})
    if Organization.objects.filter(slug=slug).exists():
        raise _org_slug_taken()


@transaction.atomic
def organization_create(
    *, user: User, name: str, slug: str = "", ip: str | None = None, user_agent: str = ""
) -> Organization:
    """Create an organization; its creator becomes the first owner."""
    slug = slug.strip().lower()
    if slug:
        _ensure_org_slug_available(slug)
    org = Organization(name=name.strip(), slug=slug or _unique_org_slug(name))
    try:
        with transaction.atomic():  # a savepoint: the unique index decides a race the checks lost
            validated_save(org)
    except IntegrityError:
        raise _org_slug_taken() from None
    with tenant_scope(organization_id=org.pk, user_id=user.pk):  # the first rows of a new tenant
        Membership.objects.create(organization=org, user=user, role=Role.OWNER)
        principal = Principal(user=user, organization=org, role=Role.OWNER, ip=ip, user_agent=user_agent)
        audit_record(principal=principal, action=AuditAction.ORG_CREATED, target=org, data={"slug": org.slug})
    return org


@transaction.atomic
def organization_update(*, principal: Principal, name: str) -> Organization:
    principal.require(Permission.ORG_MANAGE)
    org = Organization.objects.select_for_update().get(pk=principal.organization.pk)
    old = org.name
    org.name = name.strip()
    validated_save(org)
    if org.name == old:
        return org
    audit_record(
        principal=principal, action=AuditAction.ORG_UPDATED, target=org, data={"name": [old, org.name]}
    )
    return org


def _valid_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError({"role": _("Choose one of the roles offered.")}) from None


@dataclass
class Invited:
    """What `member_invite()` did: the invitation, its one-time accept link, and whether it was mailed.

    The email goes out once the invitation has committed; `email_sent` then says whether the mail
    server took it (None while the transaction is still open).
    """

    invitation: Invitation
    link: str
    email_sent: bool | None = None
    # The roles of the pending invitations to the same address that this one replaced (their links died).
    replaced_roles: list[Role] = field(default_factory=list)


@transaction.atomic
def member_invite(*, principal: Principal, email: str, role: Role) -> Invited:
    """Invite someone by email (replacing a pending invitation of the same address); mailed after commit."""
    principal.require(Permission.MEMBERS_MANAGE)
    role = _valid_role(role)
    if not can_assign_role(actor_role=principal.role, current=None, new=role):
        raise PermissionDenied(_("Only owners can invite owners."))
    email = User.objects.normalize_email(email).lower()
    org = principal.organization
    if Membership.objects.for_org(org).filter(user__email=email).exists():
        raise ValidationError({"email": _("%(email)s is already a member.") % {"email": email}})
    # A new invitation replaces any pending one for the same address; each replaced one is audited.
    replaced = (
        Invitation.objects.for_org(org)
        .select_for_update()
        .filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True)
    )
    replaced_roles = []
    for old in replaced:
        replaced_roles.append(Role(old.role))
        old.revoked_at = timezone.now()
        old.save(update_fields=["revoked_at"])
        audit_record(
            principal=principal,
            action=AuditAction.INVITATION_REVOKED,
            target=old,
            target_label=email,
            data={"replaced": True},
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization=org,
        email=email,
        role=role,
        token_hash=token_digest(token),
        invited_by=principal.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    validated_save(invitation)
    audit_record(
        principal=principal,
        action=AuditAction.MEMBER_INVITED,
        target=invitation,
        target_label=email,
        data={"email": email, "role": str(role)},
    )
    link = settings.PUBLIC_URL + reverse("accounts:invitation_accept", kwargs={"token": token})
    invited = Invited(invitation=invitation, link=link, replaced_roles=replaced_roles)
    # robust: the invitation is committed by then, and a mail failure must not turn that into an error.
    transaction.on_commit(partial(_send_invitation_email, invited), robust=True)
    return invited


def _send_invitation_email(invited: Invited) -> None:
    invitation = invited.invitation
    context = {"invitation": invitation, "organization": invitation.organization, "link": invited.link}
    try:
        send_mail(
            subject=_("You are invited to %(org)s on Gatehouse") % {"org": invitation.organization.name},
            message=render_to_string("accounts/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except Exception:
        # Logged without the link (a secret); whoever invited is told, and inviting again replaces it.
        logger.exception("could not send the email of invitation %s", invitation.public_id)
        invited.email_sent = False
    else:
        invited.email_sent = True


@transaction.atomic
def invitation_revoke(*, principal: Principal, invitation: Invitation) -> None:
    principal.require(Permission.MEMBERS_MANAGE)
    invitation = Invitation.objects.visible_to(principal).select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        principal=principal,
        action=AuditAction.INVITATION_REVOKED,
        target=invitation,
        target_label=invitation.email,
    )


class InvitationInvalid(Exception):
    """The invitation link is unknown, used, revoked or expired; `reason` says which."""

    def __init__(self, reason: str = "unknown") -> None:
        self.reason = reason  # "unknown", "accepted", "revoked" or "expired"
        super().__init__(reason)

    @classmethod
    def for_invitation(cls, invitation: Invitation) -> InvitationInvalid:
        if invitation.accepted_at is not None:
            return cls("accepted")
        return cls("revoked" if invitation.revoked_at is not None else "expired")


def invitation_get_pending(*, token: str) -> Invitation:
    try:
        invitation = invitation_get_by_token_hash(token_hash=token_digest(token))
    except Invitation.DoesNotExist:
        raise InvitationInvalid from None
    if not invitation.is_pending:
        raise InvitationInvalid.for_invitation(invitation)
    return invitation


class InvitationNotForYou(PermissionDenied):
    """The invitation is valid, but not for this account: another address, or one not yet confirmed."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # "other_email" or "unconfirmed"
        super().__init__(message)


def invitation_check_recipient(*, user: User, invitation: Invitation) -> None:
    """Only the person who reads the invited inbox may accept: the same address, confirmed."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationNotForYou(
            "other_email",
            _("This invitation was sent to %(invited)s. Sign in with that address to accept it.")
            % {"invited": invitation.email},
        )
    if not user.email_verified:
        raise InvitationNotForYou(
            "unconfirmed",
            _("Confirm your email address %(email)s first: follow the link we emailed you.")
            % {"email": user.email},
        )


@transaction.atomic
def invitation_accept(*, user: User, token: str, ip: str | None = None, user_agent: str = "") -> Membership:
    """Join the inviting organization with the invited role; the link then stops working.

    The link alone is not enough: it may have been read by someone else (a log, a forwarded email);
    only the account whose confirmed address it was sent to may use it.
    """
    invitation = invitation_get_pending(token=token)
    return _invitation_accept(
        user=user, invitation=(invitation.pk, invitation.organization_id), ip=ip, user_agent=user_agent
    )


@transaction.atomic
def invitation_accept_as_recipient(
    *, user: User, public_id: str, ip: str | None = None, user_agent: str = ""
) -> Membership:
    """Join from one's own list of pending invitations (after signing up or in, without the link).

    The confirmed address stands in for the emailed link: both prove the person reads that inbox.
    Someone else's invitation is InvitationNotForYou, exactly as with its link.
    """
    found = Invitation.all_orgs.filter(public_id=public_id).values_list("pk", "organization_id").first()
    if found is None:
        raise InvitationInvalid
    return _invitation_accept(user=user, invitation=found, ip=ip, user_agent=user_agent, link=False)


def _invitation_accept(
    *, user: User, invitation: tuple[int, int], ip: str | None, user_agent: str, link: bool = True
) -> Membership:
    pk, organization_id = invitation
    # The person acts in the organization that invited them (row-level security), once they are
    # shown to be its addressee.
    with tenant_scope(organization_id=organization_id, user_id=user.pk):
        return _invitation_accept_in_scope(
            user=user, invitation_pk=pk, ip=ip, user_agent=user_agent, link=link
        )


def _invitation_accept_in_scope(
    *, user: User, invitation_pk: int, ip: str | None, user_agent: str, link: bool
) -> Membership:
    invitation = Invitation.all_orgs.select_for_update().select_related("organization").get(pk=invitation_pk)
    if not invitation.is_pending:
        raise InvitationInvalid.for_invitation(invitation)
    invitation_check_recipient(user=user, invitation=invitation)
    org = invitation.organization
    membership = _membership_of(org, user)
    already_member = membership is not None
    if membership is None:
        try:
            with transaction.atomic():  # a savepoint, so the transaction survives a lost race
                membership = Membership.objects.create(organization=org, user=user, role=invitation.role)
        except IntegrityError:
            # They joined through another invitation at the same moment: a member either way.
            membership = Membership.objects.for_org(org).get(user=user)
            already_member = True
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    principal = Principal(
        user=user, organization=org, role=Role(membership.role), ip=ip, user_agent=user_agent
    )
    audit_record(
        principal=principal,
        action=AuditAction.MEMBER_JOINED,
        target=membership,
        target_label=user.email,
        data={
            "role": membership.role,
            "invitation": invitation.public_id,
            "invited_email": invitation.email,
            # An existing member keeps their role; the link is used up all the same.
            **({"already_member": True} if already_member else {}),
            # Accepted from the person's list of invitations, with their confirmed address, not the link.
            **({} if link else {"without_link": True}),
        },
    )
    return membership


def _membership_of(org: Organization, user: User) -> Membership | None:
    return Membership.objects.for_org(org).filter(user=user).first()


def _lock_membership(principal: Principal, membership: Membership) -> Membership:
    return (
        Membership.objects.visible_to(principal)
        .select_for_update()
        .select_related("user")
        .get(pk=membership.pk)
    )


def _ensure_another_owner(org: Organization, membership: Membership) -> None:
    if membership.role == Role.OWNER and owner_count(org=org) <= 1:
        raise ValidationError(
            _("An organization needs at least one owner. Make someone else an owner first.")
        )


@transaction.atomic
def member_role_change(*, principal: Principal, membership: Membership, role: Role) -> Membership:
    """Change a member's role; admins cannot touch owners and the last owner stays an owner."""
    principal.require(Permission.MEMBERS_MANAGE)
    role = _valid_role(role)
    # Lock every owner row first so two concurrent demotions cannot both see "another owner".
    list(Membership.objects.visible_to(principal).select_for_update().filter(role=Role.OWNER))
    membership = _lock_membership(principal, membership)
    if not can_assign_role(actor_role=principal.role, current=membership.role, new=role):
        raise PermissionDenied(_("Only owners can change an owner's role or make someone an owner."))
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _ensure_another_owner(principal.organization, membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        principal=principal,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        target=membership,
        target_label=membership.user.email,
        data={"role": [old, str(role)]},
    )
    return membership


@transaction.atomic
def member_remove(*, principal: Principal, membership: Membership) -> None:
    """Remove a member (or leave, when it is the principal's own membership)."""
    list(Membership.objects.visible_to(principal).select_for_update().filter(role=Role.OWNER))
    membership = _lock_membership(principal, membership)
    leaving = principal.user is not None and membership.user_id == principal.user.pk
    # Leaving needs no permission in the dashboard, but a bearer token must never make its person leave.
    if not leaving or principal.scopes is not None:
        principal.require(Permission.MEMBERS_MANAGE)
        if not can_assign_role(actor_role=principal.role, current=membership.role, new=membership.role):
            raise PermissionDenied(_("Only owners can remove an owner."))
    _ensure_another_owner(principal.organization, membership)
    audit_record(
        principal=principal,
        action=AuditAction.MEMBER_LEFT if leaving else AuditAction.MEMBER_REMOVED,
        target=membership,
        target_label=membership.user.email,
        data={"role": membership.role},
    )
    # Apps the member connected to this organization stop at once (each revocation audited).
    from accounts.oauth.services import connections_revoke_for_member  # DOT needs the app registry ready

    connections_revoke_for_member(principal=principal, membership=membership)
    membership.delete()
