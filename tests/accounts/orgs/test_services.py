"""Organizations, members and invitations: the services and their selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.core.permissions import Permission, Role
from accounts.core.principal import Channel, MissingPermission
from accounts.models import AuditEvent, Invitation, Membership, Organization, User
from accounts.orgs.selectors import invitation_get, invitation_list_pending, member_list
from accounts.orgs.services import (
    InvitationInvalid,
    InvitationNotForYou,
    invitation_accept,
    invitation_get_pending,
    invitation_revoke,
    member_invite,
    member_remove,
    member_role_change,
    organization_create,
    organization_update,
)
from tests.factories import MembershipFactory, UserFactory, principal_for

pytestmark = pytest.mark.django_db


def events(org: Organization, action: str | None = None) -> list[AuditEvent]:
    queryset = AuditEvent.objects.for_org(org).order_by("id")
    return list(queryset.filter(action=action) if action else queryset)


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[-1]


def role_of(membership: Membership) -> str:
    return Membership.objects.for_org(membership.organization).get(pk=membership.pk).role


# organization_create / organization_update


def test_organization_create_makes_creator_owner_and_audits() -> None:
    user = UserFactory()
    org = organization_create(user=user, name="  Initech ", ip="10.0.0.1", user_agent="ua")
    assert (org.name, org.slug) == ("Initech", "initech")
    membership = Membership.objects.for_org(org).get()
    assert (membership.user, membership.role) == (user, Role.OWNER)
    [event] = events(org)
    assert (event.action, event.actor, event.target_type, event.target_id) == (
        AuditAction.ORG_CREATED,
        user,
        "organization",
        org.public_id,
    )
    assert (event.data, event.ip, event.user_agent) == ({"slug": "initech"}, "10.0.0.1", "ua")


def test_organization_create_auto_slug_skips_taken_and_reserved_slugs(org: Organization) -> None:
    user = UserFactory()
    assert organization_create(user=user, name="Acme").slug == "acme-2"
    assert organization_create(user=user, name="New").slug == "new-2"
    assert organization_create(user=user, name="!!!").slug == "org"


@pytest.mark.parametrize(
    ("slug", "message"),
    [("new", "reserved"), ("settings", "reserved"), ("acme", "already uses"), ("ACME", "already uses")],
)
def test_organization_create_refuses_reserved_or_taken_slug(
    org: Organization, slug: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        organization_create(user=UserFactory(), name="Another", slug=slug)
    assert message in error.value.message_dict["slug"][0]
    assert Organization.objects.count() == 1


def test_organization_create_lowercases_explicit_slug() -> None:
    assert organization_create(user=UserFactory(), name="Big Co", slug="Big-Co").slug == "big-co"


def test_organization_create_with_blank_name_creates_nothing() -> None:
    with pytest.raises(ValidationError) as error:
        organization_create(user=UserFactory(), name="   ")
    assert "name" in error.value.message_dict
    assert not Organization.objects.exists()


def test_organization_update_renames_and_audits_old_and_new(org: Organization, admin_membership) -> None:
    principal = principal_for(admin_membership)
    organization_update(principal=principal, name=" Acme Corp ")
    org.refresh_from_db()
    assert org.name == "Acme Corp"
    [event] = events(org, AuditAction.ORG_UPDATED)
    assert event.data == {"name": ["Acme", "Acme Corp"]}
    assert event.actor == admin_membership.user


def test_organization_update_without_change_writes_no_event(org: Organization, owner_principal) -> None:
    organization_update(principal=owner_principal, name="Acme")
    assert events(org) == []


def test_organization_update_needs_org_manage(org: Organization, member_principal) -> None:
    with pytest.raises(MissingPermission):
        organization_update(principal=member_principal, name="Hacked")
    org.refresh_from_db()
    assert org.name == "Acme"


def test_organization_update_refuses_blank_name(org: Organization, owner_principal) -> None:
    with pytest.raises(ValidationError):
        organization_update(principal=owner_principal, name=" ")
    org.refresh_from_db()
    assert org.name == "Acme"
    assert events(org) == []


# member_invite / invitation_revoke


def test_member_invite_stores_only_a_hash_emails_the_link_and_audits(
    org: Organization, owner_principal, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invited = member_invite(principal=owner_principal, email="New@Example.com ", role=Role.ADMIN)
        invitation, link = invited.invitation, invited.link
    token = token_of(link)
    assert link.endswith(f"/invitations/{token}/")
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new@example.com",
        "admin",
        owner_principal.user,
    )
    assert token not in invitation.token_hash
    assert invitation_get_pending(token=token) == invitation
    [mail] = mailoutbox
    assert mail.to == ["new@example.com"]
    assert link in mail.body
    assert "Acme" in mail.subject
    [event] = events(org, AuditAction.MEMBER_INVITED)
    assert (event.target_type, event.target_id, event.target_label) == (
        "invitation",
        invitation.public_id,
        "new@example.com",
    )
    assert event.data == {"email": "new@example.com", "role": "admin"}
    assert token not in str(event.data)


def test_member_invite_replaces_a_pending_invitation_for_the_same_address(
    org: Organization, owner_principal
) -> None:
    first_link = member_invite(principal=owner_principal, email="a@example.com", role=Role.MEMBER).link
    second = member_invite(principal=owner_principal, email="A@example.com", role=Role.VIEWER).invitation
    assert list(invitation_list_pending(principal=owner_principal)) == [second]
    with pytest.raises(InvitationInvalid) as error:
        invitation_get_pending(token=token_of(first_link))
    assert error.value.reason == "revoked"


def test_member_invite_refuses_existing_member(org: Organization, owner_principal, member_membership) -> None:
    with pytest.raises(ValidationError) as error:
        member_invite(principal=owner_principal, email="MEMBER@acme.test", role=Role.MEMBER)
    assert "email" in error.value.message_dict
    assert not Invitation.objects.for_org(org).exists()


def test_only_owners_invite_owners(org: Organization, owner_principal, admin_membership) -> None:
    with pytest.raises(PermissionDenied):
        member_invite(principal=principal_for(admin_membership), email="x@example.com", role=Role.OWNER)
    assert not Invitation.objects.for_org(org).exists()
    invitation = member_invite(principal=owner_principal, email="x@example.com", role=Role.OWNER).invitation
    assert invitation.role == Role.OWNER


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_member_invite_needs_members_manage(org: Organization, role: Role) -> None:
    principal = principal_for(MembershipFactory(organization=org, role=role))
    with pytest.raises(MissingPermission):
        member_invite(principal=principal, email="x@example.com", role=Role.VIEWER)


def test_member_invite_refuses_unknown_role(org: Organization, owner_principal) -> None:
    with pytest.raises(ValidationError) as error:
        member_invite(principal=owner_principal, email="x@example.com", role="superuser")  # type: ignore[arg-type]
    assert "role" in error.value.message_dict


def test_invitation_revoke_kills_the_link_and_audits_once(org: Organization, owner_principal) -> None:
    invited = member_invite(principal=owner_principal, email="x@example.com", role=Role.MEMBER)
    invitation, link = invited.invitation, invited.link
    invitation_revoke(principal=owner_principal, invitation=invitation)
    invitation_revoke(principal=owner_principal, invitation=invitation)
    with pytest.raises(InvitationInvalid) as error:
        invitation_get_pending(token=token_of(link))
    assert error.value.reason == "revoked"
    [event] = events(org, AuditAction.INVITATION_REVOKED)
    assert (event.target_id, event.target_label) == (invitation.public_id, "x@example.com")


def test_invitation_revoke_of_another_org_is_not_found(owner_principal, other_owner_principal) -> None:
    invitation = member_invite(
        principal=other_owner_principal, email="x@example.com", role=Role.MEMBER
    ).invitation
    with pytest.raises(Invitation.DoesNotExist):
        invitation_revoke(principal=owner_principal, invitation=invitation)
    with pytest.raises(Invitation.DoesNotExist):
        invitation_get(principal=owner_principal, public_id=invitation.public_id)
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_invitation_revoke_needs_members_manage(org: Organization, owner_principal, member_principal) -> None:
    invitation = member_invite(principal=owner_principal, email="x@example.com", role=Role.MEMBER).invitation
    with pytest.raises(MissingPermission):
        invitation_revoke(principal=member_principal, invitation=invitation)


# invitation_accept


def test_invitation_accept_joins_with_the_invited_role_once(org: Organization, owner_principal) -> None:
    invited = member_invite(principal=owner_principal, email="new@example.com", role=Role.VIEWER)
    invitation, link = invited.invitation, invited.link
    user = UserFactory(email="new@example.com")
    membership = invitation_accept(user=user, token=token_of(link), ip="10.0.0.2")
    assert (membership.organization, membership.user, membership.role) == (org, user, Role.VIEWER)
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (user, True)
    [event] = events(org, AuditAction.MEMBER_JOINED)
    assert (event.actor, event.target_type, event.target_id, event.target_label, event.ip) == (
        user,
        "membership",
        membership.public_id,
        "new@example.com",
        "10.0.0.2",
    )
    assert event.data == {
        "role": "viewer",
        "invitation": invitation.public_id,
        "invited_email": "new@example.com",
    }
    with pytest.raises(InvitationInvalid) as error:
        invitation_accept(user=UserFactory(), token=token_of(link))
    assert error.value.reason == "accepted"
    assert Membership.objects.for_org(org).count() == 2


def test_only_the_invited_address_confirmed_may_accept(org: Organization, owner_principal) -> None:
    link = member_invite(principal=owner_principal, email="invited@example.com", role=Role.MEMBER).link
    other = UserFactory(email="someone-else@example.com")
    unconfirmed = UserFactory(email="Invited@Example.com".lower(), email_verified_at=None)
    for user, reason in ((other, "other_email"), (unconfirmed, "unconfirmed")):
        with pytest.raises(InvitationNotForYou) as refusal:
            invitation_accept(user=user, token=token_of(link))
        assert refusal.value.reason == reason
    assert Membership.objects.for_org(org).count() == 1
    Invitation.objects.for_org(org).get(email="invited@example.com")  # still pending
    User.objects.filter(pk=unconfirmed.pk).update(email_verified_at=timezone.now())
    unconfirmed.refresh_from_db()
    membership = invitation_accept(user=unconfirmed, token=token_of(link))
    assert membership.user == unconfirmed
    assert events(org, AuditAction.MEMBER_JOINED)[0].data["invited_email"] == "invited@example.com"


def test_invitation_accept_by_existing_member_keeps_their_role(
    org: Organization, owner_principal, member_membership
) -> None:
    # Invited, then joined some other way before following the link.
    link = member_invite(principal=owner_principal, email="someone@example.com", role=Role.ADMIN).link
    User.objects.filter(pk=member_membership.user.pk).update(email="someone@example.com")
    member_membership.user.refresh_from_db()
    membership = invitation_accept(user=member_membership.user, token=token_of(link))
    assert (membership.pk, membership.role) == (member_membership.pk, Role.MEMBER)
    assert events(org, AuditAction.MEMBER_JOINED)[0].data["already_member"] is True


def test_expired_invitation_cannot_be_accepted(org: Organization, owner_principal) -> None:
    invited = member_invite(principal=owner_principal, email="x@example.com", role=Role.MEMBER)
    invitation, link = invited.invitation, invited.link
    Invitation.objects.for_org(org).filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(InvitationInvalid) as error:
        invitation_accept(user=UserFactory(), token=token_of(link))
    assert error.value.reason == "expired"
    assert list(invitation_list_pending(principal=owner_principal)) == []
    assert Membership.objects.for_org(org).count() == 1


def test_revoked_invitation_cannot_be_accepted(org: Organization, owner_principal) -> None:
    invited = member_invite(principal=owner_principal, email="x@example.com", role=Role.MEMBER)
    invitation, link = invited.invitation, invited.link
    invitation_revoke(principal=owner_principal, invitation=invitation)
    with pytest.raises(InvitationInvalid) as error:
        invitation_accept(user=UserFactory(), token=token_of(link))
    assert error.value.reason == "revoked"
    assert events(org, AuditAction.MEMBER_JOINED) == []


def test_unknown_token_is_invalid(db: None) -> None:
    with pytest.raises(InvitationInvalid) as error:
        invitation_accept(user=UserFactory(), token="not-a-real-token")
    assert error.value.reason == "unknown"


# member_role_change


def test_owner_promotes_and_role_change_is_audited(
    org: Organization, owner_principal, member_membership
) -> None:
    member_role_change(principal=owner_principal, membership=member_membership, role=Role.OWNER)
    assert role_of(member_membership) == Role.OWNER
    [event] = events(org, AuditAction.MEMBER_ROLE_CHANGED)
    assert (event.target_id, event.target_label, event.data) == (
        member_membership.public_id,
        "member@acme.test",
        {"role": ["member", "owner"]},
    )


def test_same_role_writes_no_event(org: Organization, owner_principal, member_membership) -> None:
    member_role_change(principal=owner_principal, membership=member_membership, role=Role.MEMBER)
    assert events(org) == []


def test_admin_cannot_touch_owners_or_make_them(
    org: Organization, owner_membership, admin_membership, member_membership
) -> None:
    admin = principal_for(admin_membership)
    with pytest.raises(PermissionDenied):
        member_role_change(principal=admin, membership=owner_membership, role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        member_role_change(principal=admin, membership=member_membership, role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        member_remove(principal=admin, membership=owner_membership)
    assert (role_of(owner_membership), role_of(member_membership)) == (Role.OWNER, Role.MEMBER)
    assert events(org) == []


def test_admin_manages_members_and_admins(org: Organization, admin_membership, member_membership) -> None:
    admin = principal_for(admin_membership)
    member_role_change(principal=admin, membership=member_membership, role=Role.ADMIN)
    member_role_change(principal=admin, membership=member_membership, role=Role.VIEWER)
    assert role_of(member_membership) == Role.VIEWER


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_role_change_needs_members_manage(org: Organization, role: Role, member_membership) -> None:
    principal = principal_for(MembershipFactory(organization=org, role=role))
    with pytest.raises(MissingPermission):
        member_role_change(principal=principal, membership=member_membership, role=Role.VIEWER)


def test_last_owner_cannot_be_demoted(org: Organization, owner_principal, owner_membership) -> None:
    with pytest.raises(ValidationError, match="at least one owner"):
        member_role_change(principal=owner_principal, membership=owner_membership, role=Role.ADMIN)
    assert role_of(owner_membership) == Role.OWNER
    assert events(org) == []


def test_an_owner_may_step_down_when_another_owner_exists(
    org: Organization, owner_principal, owner_membership
) -> None:
    MembershipFactory(organization=org, role=Role.OWNER)
    member_role_change(principal=owner_principal, membership=owner_membership, role=Role.ADMIN)
    assert role_of(owner_membership) == Role.ADMIN


def test_role_change_of_another_orgs_member_is_not_found(owner_principal, other_owner_principal) -> None:
    other_membership = MembershipFactory(organization=other_owner_principal.organization, role=Role.MEMBER)
    with pytest.raises(Membership.DoesNotExist):
        member_role_change(principal=owner_principal, membership=other_membership, role=Role.ADMIN)
    assert role_of(other_membership) == Role.MEMBER


def test_role_change_refuses_unknown_role(owner_principal, member_membership) -> None:
    with pytest.raises(ValidationError) as error:
        member_role_change(principal=owner_principal, membership=member_membership, role="root")  # type: ignore[arg-type]
    assert "role" in error.value.message_dict
    assert role_of(member_membership) == Role.MEMBER


# member_remove


def test_owner_removes_a_member_and_it_is_audited(
    org: Organization, owner_principal, member_membership
) -> None:
    member_remove(principal=owner_principal, membership=member_membership)
    assert not Membership.objects.for_org(org).filter(pk=member_membership.pk).exists()
    [event] = events(org, AuditAction.MEMBER_REMOVED)
    assert (event.actor, event.target_id, event.target_label, event.data) == (
        owner_principal.user,
        member_membership.public_id,
        "member@acme.test",
        {"role": "member"},
    )


def test_owner_removes_another_owner(org: Organization, owner_principal) -> None:
    second = MembershipFactory(organization=org, role=Role.OWNER)
    member_remove(principal=owner_principal, membership=second)
    assert Membership.objects.for_org(org).count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER, Role.ADMIN])
def test_anyone_may_leave(org: Organization, owner_membership, role: Role) -> None:
    membership = MembershipFactory(organization=org, role=role)
    member_remove(principal=principal_for(membership), membership=membership)
    assert not Membership.objects.for_org(org).filter(pk=membership.pk).exists()
    [event] = events(org, AuditAction.MEMBER_LEFT)
    assert (event.actor, event.target_id) == (membership.user, membership.public_id)


def test_last_owner_cannot_leave(org: Organization, owner_principal, owner_membership) -> None:
    with pytest.raises(ValidationError, match="at least one owner"):
        member_remove(principal=owner_principal, membership=owner_membership)
    assert Membership.objects.for_org(org).filter(pk=owner_membership.pk).exists()
    assert events(org) == []


def test_a_member_cannot_remove_others(org: Organization, member_principal, viewer_membership) -> None:
    with pytest.raises(MissingPermission):
        member_remove(principal=member_principal, membership=viewer_membership)
    assert Membership.objects.for_org(org).filter(pk=viewer_membership.pk).exists()


def test_a_bearer_token_cannot_make_its_person_leave(
    org: Organization, owner_membership, member_membership
) -> None:
    token = principal_for(
        member_membership,
        channel=Channel.API,
        scopes=frozenset(p.value for p in Permission if ":read" in p.value),
    )
    with pytest.raises(MissingPermission):
        member_remove(principal=token, membership=member_membership)
    assert Membership.objects.for_org(org).filter(pk=member_membership.pk).exists()


def test_remove_of_another_orgs_member_is_not_found(owner_principal, other_owner_principal) -> None:
    other_membership = MembershipFactory(organization=other_owner_principal.organization)
    with pytest.raises(Membership.DoesNotExist):
        member_remove(principal=owner_principal, membership=other_membership)


# Selectors


def test_member_list_puts_owners_first_and_hides_other_orgs(
    org: Organization, owner_principal, viewer_membership, admin_membership, other_owner_principal
) -> None:
    MembershipFactory(organization=org, role=Role.OWNER, user__email="zed@acme.test")
    roles = [(m.role, m.user.email) for m in member_list(principal=owner_principal)]
    assert roles == [
        ("owner", "owner@acme.test"),
        ("owner", "zed@acme.test"),
        ("admin", "admin@acme.test"),
        ("viewer", "viewer@acme.test"),
    ]


def test_invitation_list_pending_hides_used_revoked_expired_and_other_orgs(
    org: Organization, owner_principal, other_owner_principal
) -> None:
    pending = member_invite(
        principal=owner_principal, email="pending@example.com", role=Role.MEMBER
    ).invitation
    revoked = member_invite(
        principal=owner_principal, email="revoked@example.com", role=Role.MEMBER
    ).invitation
    invitation_revoke(principal=owner_principal, invitation=revoked)
    expired = member_invite(
        principal=owner_principal, email="expired@example.com", role=Role.MEMBER
    ).invitation
    Invitation.objects.for_org(org).filter(pk=expired.pk).update(expires_at=timezone.now())
    link = member_invite(principal=owner_principal, email="used@example.com", role=Role.MEMBER).link
    invitation_accept(user=UserFactory(email="used@example.com"), token=token_of(link))
    member_invite(principal=other_owner_principal, email="elsewhere@example.com", role=Role.MEMBER)
    assert list(invitation_list_pending(principal=owner_principal)) == [pending]
