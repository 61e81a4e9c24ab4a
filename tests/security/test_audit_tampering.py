"""Item 3: with write access to the database alone, the audit log can be neither wiped nor rewritten unseen.

An attacker here has the database (the tables, and a superuser's power to switch triggers off) but
not the chain key (configuration) nor the checkpoint directory (outside the database). Recomputing
the chain with plain SHA-256, emptying both tables or cutting the chain back all verify as broken.
On PostgreSQL the database itself also refuses TRUNCATE and a chain head moved backwards.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, models, transaction

from accounts.audit import checkpoints
from accounts.audit.chain import event_digest, seal_pending, verify_chain
from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.core.principal import Principal
from accounts.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="triggers guard the tables on PostgreSQL only"
)


def sealed_chain(principal: Principal, count: int) -> list[AuditEvent]:
    for i in range(count):
        with transaction.atomic():
            audit_record(principal=principal, action=AuditAction.DOCUMENT_UPDATED, data={"i": i})
    seal_pending(org_id=principal.organization.pk)
    return list(AuditEvent.objects.for_org(principal.organization).order_by("seq"))


def as_database_superuser(sql: str, params: list[object] | None = None) -> None:
    """Run SQL with triggers off (PostgreSQL) and the truncate guard opened, as an intruder could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL gatehouse.allow_audit_truncate = 'on'")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def unkeyed(event: AuditEvent, *, prev_hash: str, seq: int) -> str:
    """The chain's digest as it was before it had a key: anyone can compute it."""
    return event_digest(event, prev_hash=prev_hash, seq=seq, keyed=False)


def test_a_chain_recomputed_without_the_key_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 4)
    # The intruder edits an event, then recomputes every hash after it and the head, SHA-256 style.
    events[1].data = {"i": "forged"}
    prev = events[0].hash
    for event in events[1:]:
        digest = unkeyed(event, prev_hash=prev, seq=event.seq)
        as_database_superuser(
            "UPDATE accounts_auditevent SET data = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [json.dumps(event.data), prev, digest, event.pk],
        )
        prev = digest
    as_database_superuser(
        "UPDATE accounts_auditchainhead SET hash = %s WHERE organization_id = %s",
        [prev, owner_principal.organization.pk],
    )

    report = verify_chain(org=owner_principal.organization)
    assert not report.ok
    assert report.broken_seq == 2
    assert "content does not match" in report.reason


def test_a_chain_is_keyed(owner_principal: Principal) -> None:
    [event] = sealed_chain(owner_principal, 1)
    assert event.hash != unkeyed(event, prev_hash="", seq=1)
    plain = json.dumps({"seq": 1}).encode()
    assert event.hash != hashlib.sha256(plain).hexdigest()


def test_emptying_both_tables_is_detected_by_the_checkpoint(owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 3)
    call_command("audit_checkpoint", stdout=None)
    org_id = owner_principal.organization.pk
    as_database_superuser("DELETE FROM accounts_auditevent WHERE organization_id = %s", [org_id])
    as_database_superuser("DELETE FROM accounts_auditchainhead WHERE organization_id = %s", [org_id])

    report = verify_chain(org=owner_principal.organization)
    assert not report.ok
    assert "events were removed" in report.reason


def test_a_chain_cut_back_with_its_head_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 5)
    checkpoints.write(
        org_public_id=owner_principal.organization.public_id, seq=5, hash=events[4].hash, legacy_until=0
    )
    # Drop the last two events and point the head back at the third: the chain alone looks fine.
    as_database_superuser(
        "DELETE FROM accounts_auditevent WHERE id IN (%s, %s)", [events[3].pk, events[4].pk]
    )
    as_database_superuser(
        "UPDATE accounts_auditchainhead SET seq = 3, hash = %s WHERE organization_id = %s",
        [events[2].hash, owner_principal.organization.pk],
    )
    report = verify_chain(org=owner_principal.organization)
    assert not report.ok
    assert "checkpoint" in report.reason


def test_a_forged_checkpoint_line_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 2)
    checkpoint = checkpoints.write(
        org_public_id=owner_principal.organization.public_id, seq=2, hash=events[1].hash, legacy_until=0
    )
    path = checkpoints.directory() / f"{checkpoint.org}.jsonl"
    path.write_text(path.read_text().replace(events[1].hash, "0" * 64))
    report = verify_chain(org=owner_principal.organization)
    assert not report.ok
    assert "does not verify" in report.reason


def test_a_tenant_removed_entirely_is_reported(owner_principal: Principal) -> None:
    checkpoints.write(org_public_id="org_removedtenant0000", seq=9, hash="a" * 64, legacy_until=0)
    with pytest.raises(Exception, match="broken"):
        call_command("audit_verify", stdout=None, stderr=None)


@postgresql_only
@pytest.mark.parametrize("table", ["accounts_auditevent", "accounts_auditchainhead"])
def test_the_database_refuses_truncate(owner_principal: Principal, table: str) -> None:
    sealed_chain(owner_principal, 1)

    def truncate() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE waits for no deferred FK check
            cursor.execute("SET LOCAL gatehouse.allow_audit_truncate = 'off'")
            cursor.execute(f"TRUNCATE {table} CASCADE")

    with pytest.raises(DatabaseError, match="cannot be truncated"):
        truncate()
    assert AuditEvent.objects.for_org(owner_principal.organization).count() == 1


@postgresql_only
def test_the_database_refuses_to_move_a_chain_head_back_or_delete_it(owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 3)
    heads = models.QuerySet(AuditChainHead).filter(organization=owner_principal.organization)
    for change in (
        lambda: heads.update(seq=1),
        lambda: heads.update(hash="0" * 64),
        lambda: heads.update(legacy_until=3),
        lambda: heads.delete(),
    ):
        with pytest.raises(DatabaseError, match="chain heads"), transaction.atomic():
            change()


def test_legacy_events_still_verify(owner_principal: Principal) -> None:
    """Chains sealed before the key existed keep their plain SHA-256 up to the head's boundary."""
    events = sealed_chain(owner_principal, 3)
    prev = ""
    for event in events:
        digest = unkeyed(event, prev_hash=prev, seq=event.seq)
        as_database_superuser(
            "UPDATE accounts_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev, digest, event.pk]
        )
        prev = digest
    as_database_superuser(
        "UPDATE accounts_auditchainhead SET hash = %s, legacy_until = 3 WHERE organization_id = %s",
        [prev, owner_principal.organization.pk],
    )
    # That is how migration 0004 finds a chain sealed before it: no checkpoint of it yet.
    (checkpoints.directory() / f"{owner_principal.organization.public_id}.jsonl").unlink(missing_ok=True)
    sealed_chain(owner_principal, 2)  # two more events, keyed
    report = verify_chain(org=owner_principal.organization)
    assert report.ok, report.reason
    assert report.checked == 5
