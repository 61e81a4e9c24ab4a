"""Pending invitations are found after signing up or in (not only through the emailed link), and
re-inviting an address says that it replaced the pending invitation's role."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.audit.models import AuditAction, AuditEvent
from accounts.core.permissions import Role
from accounts.orgs.models import Invitation, Membership, Organization
from accounts.orgs.services import member_invite
from accounts.users.models import User
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITATIONS = reverse("accounts:invitations")


def join_url(invitation: Invitation) -> str:
    return reverse("accounts:invitation_join", args=[invitation.public_id])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_someone_invited_who_signs_up_from_the_header_is_shown_the_invitation_and_joins(
    client: Client, org: Organization, owner_principal, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    member_invite(principal=owner_principal, email="ann@example.com", role=Role.ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:signup"),
            {"email": "ann@example.com", "name": "Ann", "password1": PASSWORD, "password2": PASSWORD},
        )
    [link] = re.findall(r"https?://\S+/account/confirm-email/\S+/", mailoutbox[-1].body)
    confirm = client.get(client.get(urlsplit(link).path)["Location"]).wsgi_request.path
    client.post(confirm)
    signed_in = client.post(reverse("accounts:login"), {"username": "ann@example.com", "password": PASSWORD})
    page = client.get(signed_in["Location"], follow=True)
    assert page.redirect_chain[-1][0] == INVITATIONS  # not "Create your organization"
    html = page.content.decode()
    assert org.name in html
    assert "Admin" in html
    invitation = Invitation.objects.for_org(org).get()
    joined = client.post(join_url(invitation))
    assert joined["Location"] == reverse("accounts:org_home", args=[org.slug])
    membership = Membership.objects.for_org(org).get(user__email="ann@example.com")
    assert membership.role == Role.ADMIN
    event = AuditEvent.objects.for_org(org).get(action=AuditAction.MEMBER_JOINED)
    assert event.data["without_link"] is True
    # Used up: the emailed link no longer works, and the list is empty.
    assert Invitation.objects.for_org(org).get().accepted_at is not None
    assert client.get("/")["Location"] == reverse("accounts:org_home", args=[org.slug])


def test_an_unconfirmed_account_sees_no_invitation_and_cannot_join(
    client: Client, org: Organization, owner_principal
) -> None:
    invitation = member_invite(principal=owner_principal, email="eve@example.com", role=Role.OWNER).invitation
    eve = UserFactory(email="eve@example.com", email_verified_at=None)
    client.force_login(eve)
    assert client.get("/")["Location"] == reverse("accounts:org_create")
    create = client.get(reverse("accounts:org_create")).content.decode()
    listing = client.get(INVITATIONS).content.decode()
    assert org.name not in create
    assert org.name not in listing
    refused = client.post(join_url(invitation))
    assert refused["Location"] == INVITATIONS
    assert not Membership.objects.for_org(org).filter(user=eve).exists()


def test_nobody_joins_with_someone_elses_invitation(
    client: Client, org: Organization, owner_principal
) -> None:
    invitation = member_invite(
        principal=owner_principal, email="ann@example.com", role=Role.MEMBER
    ).invitation
    mallory = UserFactory(email="mallory@example.com")
    client.force_login(mallory)
    assert org.name not in client.get(INVITATIONS).content.decode()
    response = client.post(join_url(invitation))
    assert response["Location"] == INVITATIONS
    assert "can no longer be accepted" in messages_of(response)[0]
    assert not Membership.objects.for_org(org).filter(user=mallory).exists()
    assert Invitation.objects.for_org(org).get().is_pending


def test_members_see_their_invitations_once_per_session_then_the_menu_keeps_a_link(
    client: Client, org: Organization, owner_principal, other_org: Organization
) -> None:
    ann = UserFactory(email="ann@example.com")
    MembershipFactory(organization=other_org, user=ann)
    member_invite(principal=owner_principal, email="ann@example.com", role=Role.VIEWER)
    client.force_login(ann)
    assert client.get("/")["Location"] == INVITATIONS
    page = client.get(INVITATIONS).content.decode()
    assert org.name in page
    assert client.get("/")["Location"] == reverse("accounts:org_home", args=[other_org.slug])
    # The header's menu keeps a way back to them, on every page, without a query of its own.
    projects = client.get(reverse("accounts:projects", args=[other_org.slug])).content.decode()
    assert f'href="{INVITATIONS}"' in projects
    assert "1 pending invitation" in projects


def test_inviting_a_pending_address_again_says_the_role_it_replaces(
    client: Client, org: Organization, owner: User, owner_principal
) -> None:
    member_invite(principal=owner_principal, email="ann@example.com", role=Role.VIEWER)
    client.force_login(owner)
    response = client.post(
        reverse("accounts:member_invite", args=[org.slug]), {"email": "ann@example.com", "role": "admin"}
    )
    [text] = messages_of(response)
    assert text == (
        "Invitation sent to ann@example.com as Admin. It replaces the pending invitation as Viewer, "
        "whose link no longer works."
    )
    pending = Invitation.objects.for_org(org).filter(revoked_at__isnull=True)
    assert [i.role for i in pending] == [Role.ADMIN]
