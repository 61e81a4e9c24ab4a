"""Reads' audit events kept in a journal, then written in batches already sealed (audit/journal.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction

from accounts.audit import journal as journal_module
from accounts.audit.chain import verify_chain
from accounts.audit.journal import Journal
from accounts.audit.models import AuditAction
from accounts.audit.record import audit_deferred_to, audit_record, journal_or_save, read_event, save_now
from accounts.core.principal import Principal
from accounts.models import AuditEvent, Organization

pytestmark = pytest.mark.django_db


def events_of(org: Organization) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_org(org).order_by("seq"))


def read(principal: Principal, **data: Any) -> AuditEvent:
    return read_event(principal=principal, action=AuditAction.MCP_TOOL_CALLED, data=data)


def test_a_flush_writes_the_batch_after_pending_writes_chained_in_one_go(
    owner_principal: Principal, other_owner_principal: Principal, django_capture_on_commit_callbacks: Any
) -> None:
    journal = Journal()
    with audit_deferred_to(journal), django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():  # a write: committed now, sealed by the flush
            audit_record(principal=owner_principal, action=AuditAction.PROJECT_UPDATED)
        # Data as a tool could give it: the digest must hold once the database has it back.
        assert journal_or_save(read(owner_principal, tool="whoami", at=datetime(2026, 1, 2, tzinfo=UTC)))
        assert journal_or_save(read(owner_principal, tool="list_projects", nested={"a": [1, 2.5, None]}))
        assert journal_or_save(read(other_owner_principal, tool="whoami"))
    assert AuditEvent.objects.for_org(owner_principal.organization).count() == 1  # reads wait in memory

    assert journal.flush() == 4

    mine = events_of(owner_principal.organization)
    assert [(e.seq, e.action) for e in mine] == [
        (1, AuditAction.PROJECT_UPDATED),
        (2, AuditAction.MCP_TOOL_CALLED),
        (3, AuditAction.MCP_TOOL_CALLED),
    ]
    assert mine[1].data == {"tool": "whoami", "at": "2026-01-02T00:00:00Z"}
    for org in (owner_principal.organization, other_owner_principal.organization):
        report = verify_chain(org=org)
        assert report.ok, report.reason
        assert report.pending == 0
    assert journal.idle
    assert journal.flush() == 0


def test_without_a_journal_or_with_a_full_one_the_caller_saves_the_event(owner_principal: Principal) -> None:
    assert not journal_or_save(read(owner_principal))  # no audit_deferred_to(): saved by the caller
    full = Journal(max_pending=1)
    with audit_deferred_to(full):
        assert journal_or_save(read(owner_principal))
        refused = read(owner_principal, tool="second")
        assert not journal_or_save(refused)
    save_now(refused)
    assert [e.data for e in AuditEvent.objects.for_org(owner_principal.organization)] == [{"tool": "second"}]
    assert full.flush() == 2  # the refused one was committed unsealed; the flush chains both
    assert verify_chain(org=owner_principal.organization).ok


def test_a_failing_organization_keeps_its_events_and_does_not_stop_the_others(
    owner_principal: Principal,
    other_owner_principal: Principal,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()
    journal.add(read(owner_principal))
    journal.add(read(other_owner_principal))
    broken = owner_principal.organization.pk
    real = journal_module.seal_pending

    def seal_pending(*, org_id: int, append: Any = ()) -> int:
        if org_id == broken:
            for event in append:  # as a transaction that failed after chaining them would leave them
                event.seq, event.hash = 99, "f" * 64
            raise RuntimeError("database hiccup")
        return real(org_id=org_id, append=append)

    monkeypatch.setattr(journal_module, "seal_pending", seal_pending)
    assert journal.flush() == 1
    assert "could not write the audit events" in caplog.text
    assert len(journal) == 1  # kept for the next flush
    assert AuditEvent.objects.for_org(other_owner_principal.organization).get().hash

    monkeypatch.setattr(journal_module, "seal_pending", real)
    assert journal.flush() == 1
    assert verify_chain(org=owner_principal.organization).ok


def test_a_failing_organization_is_given_up_after_max_attempts(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal()
    journal.add(read(owner_principal))

    def broken(*, org_id: int, append: Any = ()) -> int:
        raise RuntimeError("organization gone")

    monkeypatch.setattr(journal_module, "seal_pending", broken)
    flushes = 0
    while not journal.idle:
        journal.flush()
        flushes += 1
        assert flushes <= journal_module.MAX_ATTEMPTS
    assert flushes == journal_module.MAX_ATTEMPTS


def test_events_being_written_count_towards_the_limit(
    owner_principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a crash can lose is what waits plus what a flush has taken: both are bounded together."""
    journal = Journal(max_pending=2)
    assert journal.add(read(owner_principal))
    assert journal.add(read(owner_principal))
    seen_while_writing: list[bool] = []

    def seal_pending(*, org_id: int, append: Any) -> int:
        seen_while_writing.append(journal.add(read(owner_principal, tool="meanwhile")))
        return len(append)

    monkeypatch.setattr(journal_module, "seal_pending", seal_pending)
    journal.flush()
    assert seen_while_writing == [False]  # two taken by the flush: the journal was full
    assert journal.add(read(owner_principal))  # written: room again
