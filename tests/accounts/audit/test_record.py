"""The audit log's write path: events in the service's transaction, sealing into a chain, immutability."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, close_old_connections, connection, models, transaction

from accounts.audit import chain
from accounts.audit import record as record_module
from accounts.audit.chain import event_digest, seal_pending, verify_chain
from accounts.audit.models import AuditAction, AuditEventImmutable
from accounts.audit.record import audit_record
from accounts.content.services import document_delete, project_create
from accounts.core.permissions import Role
from accounts.core.principal import Principal
from accounts.models import AuditChainHead, AuditEvent, Document, Organization
from tests.factories import (
    AuditEventFactory,
    DocumentFactory,
    MembershipFactory,
    OrganizationFactory,
    principal_for,
)

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger (migration 0002) and row locks exist on PostgreSQL only; "
    "on SQLite the model's own refusal is all there is",
)


def events_of(org: Organization) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_org(org).order_by("id"))


def record(principal: Principal, count: int = 1) -> None:
    """`count` events, each in its own little service transaction."""
    for i in range(count):
        with transaction.atomic():
            audit_record(principal=principal, action=AuditAction.PROJECT_UPDATED, data={"i": i})


def assert_chain(org: Organization, length: int) -> None:
    events = list(AuditEvent.objects.for_org(org).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, length + 1))
    prev = ""
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == event_digest(event, prev_hash=prev, seq=event.seq)
        prev = event.hash
    head = AuditChainHead.objects.get(organization=org)
    assert (head.seq, head.hash) == (length, prev)


# Written in the service's transaction


def test_a_service_writes_its_event_and_it_is_sealed_after_commit(
    owner_principal: Principal, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        project = project_create(principal=owner_principal, name="Handbook")
        [event] = events_of(owner_principal.organization)
        assert event.hash == ""  # not before the commit: the chain lock is never held by a service

    assert sum(isinstance(callback, record_module._SealAfterCommit) for callback in callbacks) == 1
    event.refresh_from_db()
    assert event.action == AuditAction.PROJECT_CREATED
    assert event.actor == owner_principal.user
    assert event.actor_label == owner_principal.user.email
    assert (event.project_id, event.target_type, event.target_id) == (
        project.pk,
        "project",
        project.public_id,
    )
    assert (event.ip, event.user_agent, event.channel) == ("127.0.0.1", "pytest", "web")
    assert event.seq == 1
    assert event.hash == event_digest(event, prev_hash="", seq=1)


def test_a_service_that_fails_after_audit_record_leaves_no_event(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    document = DocumentFactory(project__organization=owner_principal.organization)

    def broken_delete(self: Document) -> None:
        raise DatabaseError("disk full")

    # document_delete records its event first, then deletes: the failure comes after audit_record().
    monkeypatch.setattr(Document, "delete", broken_delete)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(DatabaseError):
        document_delete(principal=owner_principal, document=document)

    assert events_of(owner_principal.organization) == []
    assert callbacks == []  # no sealing scheduled for an event that never was
    assert Document.objects.for_org(owner_principal.organization).filter(pk=document.pk).exists()


def test_an_event_rolls_back_with_the_change_it_describes(owner_principal: Principal) -> None:
    @transaction.atomic
    def service_that_fails_late() -> None:
        audit_record(principal=owner_principal, action=AuditAction.ORG_UPDATED)
        raise RuntimeError("after the audit")

    with pytest.raises(RuntimeError, match="after the audit"):
        service_that_fails_late()

    assert events_of(owner_principal.organization) == []


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction() -> None:
    membership = MembershipFactory(role=Role.OWNER)
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit_record(principal=principal_for(membership), action=AuditAction.ORG_UPDATED)
    assert events_of(membership.organization) == []


# Sealing


def test_sealing_gives_contiguous_seq_in_id_order_and_valid_hashes(owner_principal: Principal) -> None:
    record(owner_principal, 5)
    assert all(e.hash == "" for e in events_of(owner_principal.organization))

    assert seal_pending(org_id=owner_principal.organization.pk) == 5

    assert [e.seq for e in events_of(owner_principal.organization)] == [1, 2, 3, 4, 5]
    assert_chain(owner_principal.organization, 5)


def test_sealing_continues_the_chain_and_never_reseals(owner_principal: Principal) -> None:
    org = owner_principal.organization
    record(owner_principal, 2)
    seal_pending(org_id=org.pk)
    first = {e.pk: e.hash for e in events_of(org)}

    record(owner_principal, 3)
    assert seal_pending(org_id=org.pk) == 3
    assert seal_pending(org_id=org.pk) == 0

    assert {e.pk: e.hash for e in events_of(org)[:2]} == first
    assert_chain(org, 5)


def test_sealing_works_in_batches(owner_principal: Principal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain, "SEAL_BATCH", 3)
    record(owner_principal, 8)

    assert seal_pending(org_id=owner_principal.organization.pk) == 8
    assert_chain(owner_principal.organization, 8)


def test_each_organization_has_its_own_chain(
    owner_principal: Principal, other_owner_principal: Principal
) -> None:
    record(owner_principal, 2)
    record(other_owner_principal, 3)
    record(owner_principal, 1)

    seal_pending(org_id=owner_principal.organization.pk)
    assert AuditEvent.objects.for_org(other_owner_principal.organization).filter(hash="").count() == 3
    seal_pending(org_id=other_owner_principal.organization.pk)

    assert_chain(owner_principal.organization, 3)
    assert_chain(other_owner_principal.organization, 3)


def test_a_sealer_racing_without_the_lock_rolls_its_batch_back(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If an event is sealed under a sealer's feet, the batch is abandoned rather than leaving a gap."""
    org = owner_principal.organization
    record(owner_principal, 3)
    victim = events_of(org)[1]
    real_digest = event_digest

    def digest_while_someone_else_seals(event: AuditEvent, **kwargs: Any) -> str:
        if event.pk == victim.pk:
            models.QuerySet(AuditEvent).filter(pk=victim.pk).update(seq=99, hash="f" * 64)
        return real_digest(event, **kwargs)

    monkeypatch.setattr(chain, "event_digest", digest_while_someone_else_seals)
    with pytest.raises(RuntimeError, match="sealed concurrently"):
        seal_pending(org_id=org.pk)

    monkeypatch.undo()
    # The rollback took the interloper's write too (same transaction here); nothing of the batch stuck.
    assert [e.hash for e in events_of(org)] == ["", "", ""]
    assert seal_pending(org_id=org.pk) == 3
    assert_chain(org, 3)


def test_a_sealing_failure_after_commit_is_logged_and_the_next_sealing_catches_up(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks, caplog
) -> None:
    org = owner_principal.organization

    def crash(*, org_id: int) -> int:
        raise DatabaseError("connection lost")

    monkeypatch.setattr(record_module, "seal_pending", crash)
    with django_capture_on_commit_callbacks(execute=True):
        record(owner_principal, 2)
    assert "could not seal the audit chain" in caplog.text
    assert [e.hash for e in events_of(org)] == ["", ""]  # committed, unsealed, not lost

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        record(owner_principal, 1)
    assert_chain(org, 3)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_keep_the_chain_valid() -> None:
    """Writers in several threads, each sealing after its commit: the head row lock serializes them."""
    membership = MembershipFactory(role=Role.OWNER)
    principal = principal_for(membership)
    start, errors = threading.Barrier(4), []

    def writer() -> None:
        try:
            start.wait()
            for _ in range(10):
                record(principal, 1)  # autocommit here: each commit runs its own sealing
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert seal_pending(org_id=membership.organization.pk) == 0  # the sealers after commit did it all
    assert_chain(membership.organization, 40)
    assert verify_chain(org=membership.organization).ok


# Immutability


def sealed_event(principal: Principal) -> AuditEvent:
    record(principal, 1)
    seal_pending(org_id=principal.organization.pk)
    return events_of(principal.organization)[0]


def test_the_model_refuses_to_save_an_existing_event(owner_principal: Principal) -> None:
    event = sealed_event(owner_principal)
    event.action = "member.removed"
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()
    assert events_of(owner_principal.organization)[0].action == AuditAction.PROJECT_UPDATED


@pytest.mark.parametrize("manager", ["objects", "all_orgs"])
def test_querysets_refuse_update_and_delete(owner_principal: Principal, manager: str) -> None:
    event = sealed_event(owner_principal)
    org = owner_principal.organization
    queryset = AuditEvent.objects.for_org(org) if manager == "objects" else AuditEvent.all_orgs.all()

    attempts = [
        lambda: queryset.update(action="member.removed"),
        lambda: queryset.filter(pk=event.pk).delete(),
        lambda: queryset.bulk_update([event], ["action"]),
        lambda: queryset.update_or_create(pk=event.pk, defaults={"action": "member.removed"}),
    ]
    for attempt in attempts:
        # A savepoint each: bulk_update() fails inside the caller's transaction (savepoint=False).
        with pytest.raises(AuditEventImmutable), transaction.atomic():
            attempt()
    assert [e.action for e in events_of(org)] == [AuditAction.PROJECT_UPDATED]


def test_an_organization_with_events_cannot_be_deleted(owner_principal: Principal) -> None:
    sealed_event(owner_principal)
    with pytest.raises(models.ProtectedError):
        owner_principal.organization.delete()


@postgresql_only
def test_the_database_refuses_raw_update_and_delete_of_events(owner_principal: Principal) -> None:
    event = sealed_event(owner_principal)
    record(owner_principal, 1)
    unsealed = events_of(owner_principal.organization)[1]
    statements = [
        (
            "UPDATE accounts_auditevent SET target_label = 'edited' WHERE id = %s",
            event.pk,
        ),  # sealed: nothing changes
        ("UPDATE accounts_auditevent SET hash = '' WHERE id = %s", event.pk),  # not even un-sealing
        ("DELETE FROM accounts_auditevent WHERE id = %s", event.pk),
        ("DELETE FROM accounts_auditevent WHERE id = %s", unsealed.pk),
        # An unsealed row may receive its seal, and nothing else.
        ("UPDATE accounts_auditevent SET action = 'member.removed' WHERE id = %s", unsealed.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])

    assert [e.target_label for e in events_of(owner_principal.organization)] == ["", ""]
    assert seal_pending(org_id=owner_principal.organization.pk) == 1  # the one update it allows
    assert verify_chain(org=owner_principal.organization).ok


def test_other_organizations_unsealed_events_are_left_alone(
    owner_principal: Principal, other_owner_principal: Principal
) -> None:
    AuditEventFactory(organization=OrganizationFactory())
    record(owner_principal, 1)
    seal_pending(org_id=owner_principal.organization.pk)
    assert AuditEvent.all_orgs.filter(hash="").count() == 1
