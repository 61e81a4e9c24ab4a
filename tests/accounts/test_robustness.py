"""What goes wrong at the edges: mail servers down, races on unique rows, savepoints, frozen clocks."""

from __future__ import annotations

import logging

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.audit.models import AuditAction
from accounts.audit.record import _SealAfterCommit, audit_record
from accounts.content import services as content_services
from accounts.content.services import document_update, project_create, project_update
from accounts.core.permissions import Role
from accounts.core.principal import Principal
from accounts.models import AuditEvent, Invitation, Membership, Organization, Project, User
from accounts.orgs import services as org_services
from accounts.orgs.services import invitation_accept, member_invite, organization_create
from tests.factories import (
    DocumentFactory,
    MembershipFactory,
    OrganizationFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class BrokenMailBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages: object) -> int:
        raise ConnectionRefusedError("mail server down")


def actions(org: Organization) -> list[str]:
    return list(AuditEvent.objects.for_org(org).order_by("id").values_list("action", flat=True))


# 1. The invitation email fails after the invitation committed


@pytest.mark.django_db(transaction=True)
def test_a_mail_failure_keeps_the_invitation_and_says_the_email_was_not_sent(
    client: Client, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailBackend"
    org = OrganizationFactory(name="Acme", slug="acme")
    owner = MembershipFactory(organization=org, role=Role.OWNER).user
    client.force_login(owner)
    with caplog.at_level(logging.ERROR):
        response = client.post(
            reverse("accounts:member_invite", args=[org.slug]), {"email": "new@example.com", "role": "member"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.for_org(org).get()
    assert invitation.is_pending
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "The invitation to new@example.com was created, but the email could not be sent. "
        "Try again later: inviting the same address again replaces this invitation."
    ]
    assert f"could not send the email of invitation {invitation.public_id}" in caplog.text
    assert "/invitations/" not in caplog.text  # the link is a secret, even in the error log


def test_the_service_reports_delivery_after_commit(
    owner_principal: Principal, settings, django_capture_on_commit_callbacks, mailoutbox
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        sent = member_invite(principal=owner_principal, email="a@example.com", role=Role.MEMBER)
        assert sent.email_sent is None  # not before the commit
    assert sent.email_sent is True
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        failed = member_invite(principal=owner_principal, email="b@example.com", role=Role.MEMBER)
    assert failed.email_sent is False
    assert len(mailoutbox) == 1


# 7. Replaced invitations are audited


def test_each_replaced_invitation_is_audited(org: Organization, owner_principal: Principal) -> None:
    first = member_invite(principal=owner_principal, email="a@example.com", role=Role.MEMBER).invitation
    second = member_invite(principal=owner_principal, email="a@example.com", role=Role.VIEWER).invitation
    revoked = AuditEvent.objects.for_org(org).get(action=AuditAction.INVITATION_REVOKED)
    assert (revoked.target_id, revoked.target_label, revoked.data) == (
        first.public_id,
        "a@example.com",
        {"replaced": True},
    )
    assert actions(org) == [
        AuditAction.MEMBER_INVITED,
        AuditAction.INVITATION_REVOKED,
        AuditAction.MEMBER_INVITED,
    ]
    assert Invitation.objects.for_org(org).get(pk=second.pk).is_pending


# 3. Races between the uniqueness check and the insert


def test_an_organization_slug_race_is_a_slug_error(monkeypatch: pytest.MonkeyPatch) -> None:
    OrganizationFactory(slug="acme")
    user = UserFactory()
    # The other request inserted "acme" after our checks ran: make every check pass.
    monkeypatch.setattr(org_services, "_ensure_org_slug_available", lambda slug: None)
    monkeypatch.setattr(Organization, "validate_unique", lambda self, exclude=None: None)
    with pytest.raises(ValidationError) as error:
        organization_create(user=user, name="Acme", slug="acme")
    assert list(error.value.message_dict) == ["slug"]
    # The savepoint kept the surrounding transaction usable (PostgreSQL aborts it otherwise).
    assert Organization.objects.filter(slug="acme").count() == 1
    assert not Membership.all_orgs.filter(user=user).exists()


@pytest.mark.parametrize("operation", ["create", "update"])
def test_a_project_slug_race_is_a_slug_error(
    org: Organization, owner_principal: Principal, monkeypatch: pytest.MonkeyPatch, operation: str
) -> None:
    ProjectFactory(organization=org, slug="handbook")
    other = ProjectFactory(organization=org, slug="other")
    monkeypatch.setattr(content_services, "_ensure_unique_project_slug", lambda project: None)
    monkeypatch.setattr(Project, "validate_unique", lambda self, exclude=None: None)
    monkeypatch.setattr(Project, "validate_constraints", lambda self, exclude=None: None)
    if operation == "create":
        with pytest.raises(ValidationError) as error:
            project_create(principal=owner_principal, name="Handbook", slug="handbook")
    else:
        with pytest.raises(ValidationError) as error:
            project_update(
                principal=owner_principal, project=other, name="Other", slug="handbook", description=""
            )
    assert error.value.message_dict == {
        "slug": ["Another project in this organization already uses the slug “handbook”."]
    }
    assert sorted(Project.objects.for_org(org).values_list("slug", flat=True)) == ["handbook", "other"]
    assert actions(org) == []


def test_accepting_while_joining_through_another_invitation_is_already_a_member(
    org: Organization, owner_principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    user: User = UserFactory(email="new@example.com")
    link = member_invite(principal=owner_principal, email="new@example.com", role=Role.MEMBER).link
    MembershipFactory(organization=org, user=user, role=Role.VIEWER)  # the other acceptance won
    monkeypatch.setattr(org_services, "_membership_of", lambda org, user: None)  # our check ran before it
    membership = invitation_accept(user=user, token=link.rstrip("/").rsplit("/", 1)[1])
    assert membership.role == Role.VIEWER
    joined = AuditEvent.objects.for_org(org).get(action=AuditAction.MEMBER_JOINED)
    assert joined.data["already_member"] is True
    assert Membership.objects.for_org(org).filter(user=user).count() == 1


# 8. One sealing per organization per transaction


def sealers(callbacks: list[object]) -> list[int]:
    return sorted(c.org_id for c in callbacks if isinstance(c, _SealAfterCommit))


def test_a_transaction_with_many_events_queues_one_sealing_per_organization(
    owner_principal: Principal, other_owner_principal: Principal, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for i in range(3):
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED, data={"i": i})
        audit_record(principal=other_owner_principal, action=AuditAction.PROJECT_UPDATED)
    assert sealers(callbacks) == sorted(
        [owner_principal.organization.pk, other_owner_principal.organization.pk]
    )
    assert not AuditEvent.objects.for_org(owner_principal.organization).filter(hash="").exists()


def test_a_rolled_back_savepoint_does_not_lose_the_sealing(
    owner_principal: Principal, django_capture_on_commit_callbacks
) -> None:
    org = owner_principal.organization
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():  # the sealing is first queued in here...
                audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        audit_record(principal=owner_principal, action=AuditAction.PROJECT_CREATED)  # ...and again here
    assert sealers(callbacks) == [org.pk]
    [event] = AuditEvent.objects.for_org(org)
    assert (event.action, event.seq) == (AuditAction.PROJECT_CREATED, 1)


# 11. "Nothing changed" comes from the service, not from comparing timestamps


def test_an_edit_under_a_frozen_clock_is_still_saved(
    client: Client, org: Organization, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = DocumentFactory(project__organization=org, title="Old")
    frozen = document.updated_at
    monkeypatch.setattr(timezone, "now", lambda: frozen)  # two edits within one clock tick
    client.force_login(owner)
    url = reverse("accounts:document_edit", args=[org.slug, document.public_id])
    response = client.post(url, {"title": "New", "body": document.body}, follow=True)
    assert "Document saved." in response.content.decode()
    again = client.post(url, {"title": "New", "body": document.body}, follow=True)
    assert "Nothing changed." in again.content.decode()


def test_update_services_say_whether_anything_changed(org: Organization, owner_principal: Principal) -> None:
    project = ProjectFactory(organization=org, name="Handbook", slug="handbook", description="")
    assert (
        project_update(
            principal=owner_principal, project=project, name="Handbook", slug="handbook", description=""
        ).changed
        is False
    )
    assert (
        project_update(
            principal=owner_principal, project=project, name="Guide", slug="handbook", description=""
        ).changed
        is True
    )
    document = DocumentFactory(project=project, title="A", body="x")
    assert document_update(principal=owner_principal, document=document, title="A", body="x").changed is False
    assert document_update(principal=owner_principal, document=document, title="A", body="y").changed is True
