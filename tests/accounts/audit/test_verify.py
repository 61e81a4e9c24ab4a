"""`verify_chain()` and `manage.py audit_verify`: a sound chain passes, every kind of tampering is found."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from accounts.audit import chain
from accounts.audit.chain import _chain_head, event_digest, seal_pending, verify_chain
from accounts.audit.models import AuditAction
from accounts.audit.record import audit_record
from accounts.core.principal import Principal
from accounts.models import AuditEvent, Organization

pytestmark = pytest.mark.django_db


def record(principal: Principal, count: int) -> None:
    for i in range(count):
        with transaction.atomic():
            audit_record(
                principal=principal,
                action=AuditAction.DOCUMENT_UPDATED,
                target_label=f"Doc {i}",
                data={"i": i},
            )


def sealed_chain(principal: Principal, count: int) -> list[AuditEvent]:
    record(principal, count)
    seal_pending(org_id=principal.organization.pk)
    return list(AuditEvent.objects.for_org(principal.organization).order_by("seq"))


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit_verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match=r"the audit chain of 1 organization\(s\) is broken"):
        call_command("audit_verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def tamper(sql: str, params: list[object]) -> None:
    """Change the table the way an attacker with database access would."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(sql, params)
            return
        # Migration 0002's trigger refuses exactly these statements. A superuser (or the table's
        # owner) can switch triggers off, and then only the hash chain stands between them and a
        # quiet edit: that is what these tests check. SET LOCAL ends with the test's transaction.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


# Sound chains


def test_a_sound_chain_verifies(owner_principal: Principal, other_owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 4)
    sealed_chain(other_owner_principal, 2)

    report = verify_chain(org=owner_principal.organization)

    assert report.ok
    assert (report.checked, report.pending, report.reason) == (4, 0, "")
    out, err = run()
    assert out.splitlines() == ["acme: ok: 4 events", "globex: ok: 2 events"]
    assert err == ""


def test_an_organization_without_events_verifies(org: Organization) -> None:
    assert verify_chain(org=org).ok
    assert run("--org", "acme")[0] == "acme: ok: 0 events\n"


def test_one_organization_by_slug(owner_principal: Principal, other_owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 1)
    sealed_chain(other_owner_principal, 1)
    assert run("--org", "globex")[0] == "globex: ok: 1 events\n"


def test_an_unknown_slug_is_an_error(org: Organization) -> None:
    with pytest.raises(CommandError, match="no organization with the slug 'nope'"):
        run("--org", "nope")


def test_pending_events_are_reported_and_sealed_with_seal(owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 2)
    record(owner_principal, 3)  # committed, never sealed: as after a crash between commit and sealing

    out, _ = run()
    assert "acme: ok: 2 events" in out
    assert "acme: 3 events not sealed yet (--seal seals them)" in out

    out, _ = run("--seal")
    assert out.splitlines() == ["acme: sealed 3 pending events", "acme: ok: 5 events"]
    assert verify_chain(org=owner_principal.organization).pending == 0


def test_sealing_during_verification_is_not_mistaken_for_tampering(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head is read before the walk; events sealed meanwhile are beyond it, legitimately."""
    events = sealed_chain(owner_principal, 5)
    real_head = _chain_head
    reads: list[tuple[int, str, int]] = []

    def head_read_before_the_last_two_were_sealed(org: Organization) -> tuple[int, str, int]:
        reads.append(real_head(org))
        return (3, events[2].hash, 0) if len(reads) == 1 else reads[-1]

    monkeypatch.setattr(chain, "_chain_head", head_read_before_the_last_two_were_sealed)

    report = verify_chain(org=owner_principal.organization)
    assert report.ok, report.reason
    assert report.checked == 5
    assert len(reads) == 2


# Tampering


def test_a_row_edited_with_raw_sql_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 4)
    tamper("UPDATE accounts_auditevent SET target_label = %s WHERE id = %s", ["Nothing to see", events[2].pk])

    report = verify_chain(org=owner_principal.organization)

    assert not report.ok
    assert (report.broken_seq, report.broken_event_id, report.checked) == (3, events[2].pk, 2)
    assert "content does not match its hash" in report.reason
    _, err = run_failing()
    assert f"acme: BROKEN at #3 (event id {events[2].pk}): its content does not match its hash" in err


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 4)
    forged = events[1]
    forged.actor_label = "someone-else@example.com"
    new_hash = event_digest(forged, prev_hash=forged.prev_hash, seq=forged.seq)
    tamper(
        "UPDATE accounts_auditevent SET actor_label = %s, hash = %s WHERE id = %s",
        [forged.actor_label, new_hash, forged.pk],
    )

    report = verify_chain(org=owner_principal.organization)

    assert (report.broken_seq, report.broken_event_id) == (3, events[2].pk)
    assert "link to the previous event does not match" in report.reason


def test_a_deleted_row_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 4)
    tamper("DELETE FROM accounts_auditevent WHERE id = %s", [events[1].pk])

    report = verify_chain(org=owner_principal.organization)

    assert (report.broken_seq, report.broken_event_id) == (2, events[2].pk)
    assert "found #3 where #2 should be: events are missing" in report.reason
    _, err = run_failing()
    assert "acme: BROKEN at #2" in err


def test_a_truncated_tail_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 5)
    tamper("DELETE FROM accounts_auditevent WHERE id IN (%s, %s)", [events[3].pk, events[4].pk])

    report = verify_chain(org=owner_principal.organization)

    assert (report.broken_seq, report.broken_event_id, report.checked) == (4, None, 3)
    assert "the chain head says 5 events, the chain ends at #3: events were cut off" in report.reason
    _, err = run_failing()
    assert "acme: BROKEN at #4: the chain head says 5 events" in err


def test_a_tail_rewritten_behind_the_head_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 3)
    last = events[-1]
    last.target_label = "rewritten"
    new_hash = event_digest(last, prev_hash=last.prev_hash, seq=last.seq)
    tamper(
        "UPDATE accounts_auditevent SET target_label = %s, hash = %s WHERE id = %s",
        ["rewritten", new_hash, last.pk],
    )

    report = verify_chain(org=owner_principal.organization)

    assert report.broken_seq == 3
    assert "the chain head does not match the last event" in report.reason


def test_an_event_appended_behind_the_sealers_back_is_detected(owner_principal: Principal) -> None:
    events = sealed_chain(owner_principal, 2)
    record(owner_principal, 1)
    extra = AuditEvent.objects.for_org(owner_principal.organization).get(hash="")
    extra_hash = event_digest(extra, prev_hash=events[-1].hash, seq=3)
    tamper(
        "UPDATE accounts_auditevent SET seq = 3, prev_hash = %s, hash = %s WHERE id = %s",
        [events[-1].hash, extra_hash, extra.pk],
    )

    report = verify_chain(org=owner_principal.organization)

    assert report.broken_seq == 3
    assert "beyond the chain head" in report.reason


def test_a_missing_chain_head_is_detected(owner_principal: Principal) -> None:
    sealed_chain(owner_principal, 2)
    tamper(
        "DELETE FROM accounts_auditchainhead WHERE organization_id = %s", [owner_principal.organization.pk]
    )

    report = verify_chain(org=owner_principal.organization)

    assert report.broken_seq == 1
    assert "beyond the chain head" in report.reason


def test_only_the_broken_organization_fails(
    owner_principal: Principal, other_owner_principal: Principal
) -> None:
    events = sealed_chain(owner_principal, 2)
    sealed_chain(other_owner_principal, 2)
    tamper("DELETE FROM accounts_auditevent WHERE id = %s", [events[0].pk])

    out, err = run_failing()

    assert "globex: ok: 2 events" in out
    assert "acme: BROKEN at #1" in err
