"""Recording audit events: written explicitly by services, inside the transaction of their change.

`audit_record()` only INSERTs, inside the caller's transaction, so an event commits or rolls back
with the change it describes. Sealing into the hash chain happens after commit (accounts/audit/chain.py
says why): by default in an on_commit callback of the transaction itself (the dashboard, the REST
API, management commands). Code running inside `audit_deferred_to(journal)` (the MCP endpoint) hands
the organization to the journal instead, which seals later, coalesced; and the events of its reads,
which change nothing, go to the journal unsaved (`read_event()`, `journal_or_save()`), to be written
in batches (accounts/audit/journal.py). `audit_tags()` adds data to every event recorded inside it:
the MCP endpoint tags the events its services write with the tool that caused them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

from django.db import models, transaction

from accounts.audit.chain import seal_pending
from accounts.audit.models import AuditAction, AuditEvent, NewEvent
from accounts.content.models import Project

if TYPE_CHECKING:
    from accounts.core.principal import Principal


logger = logging.getLogger(__name__)


# Data added to every event recorded inside `audit_tags()`, and the events recorded: the MCP endpoint
# tags the events its services write with the tool that caused them instead of writing a second one.
_TAGS: ContextVar[tuple[dict[str, Any], list[AuditEvent]] | None] = ContextVar("audit_tags", default=None)


@contextmanager
def audit_tags(**data: Any) -> Iterator[list[AuditEvent]]:
    """Add `data` to every event recorded inside the block; yields the list of those events."""
    recorded: list[AuditEvent] = []
    token = _TAGS.set((data, recorded))
    try:
        yield recorded
    finally:
        _TAGS.reset(token)


def _event(
    *,
    principal: Principal,
    action: AuditAction | str,
    target: models.Model | None,
    target_label: str,
    project: Project | None,
    data: dict[str, Any] | None,
) -> NewEvent:
    if project is None and isinstance(target, Project):
        project = target
    credential = principal.credential
    tags = _TAGS.get()
    if tags is not None:
        data = {**(data or {}), **tags[0]}
    user = principal.user
    return NewEvent(
        organization_id=principal.organization.pk,
        action=str(action),
        channel=principal.channel,
        actor_id=user.pk if user is not None else None,
        actor_label=user.email if user is not None else "",
        credential_kind=credential.kind if credential else "",
        credential_id=credential.id if credential else "",
        credential_label=credential.label if credential else "",
        project_id=project.pk if project is not None else None,
        target_type=target._meta.model_name or "" if target is not None else "",
        target_id=str(getattr(target, "public_id", None) or target.pk) if target is not None else "",
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        ip=principal.ip,
        user_agent=principal.user_agent[:512],
        data=data or {},
    )


def audit_record(
    *,
    principal: Principal,
    action: AuditAction | str,
    target: models.Model | None = None,
    target_label: str = "",
    project: Project | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event for the principal's organization; only valid inside the service's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record() must be called inside the service's transaction")
    event = _event(
        principal=principal,
        action=action,
        target=target,
        target_label=target_label,
        project=project,
        data=data,
    ).to_model()
    # The instances at hand, so that reading them back from the event costs no query.
    event.organization, event.actor = principal.organization, principal.user
    if event.project_id is not None:
        event.project = project if project is not None else target  # type: ignore[assignment]
    event.save()
    tags = _TAGS.get()
    if tags is not None:
        tags[1].append(event)
    _queue_sealing(principal.organization.pk)
    return event


def read_event(
    *, principal: Principal, action: AuditAction | str, data: dict[str, Any] | None = None
) -> NewEvent:
    """The event of a read (nothing changed), not saved: for `journal_or_save()`. No database access."""
    return _event(principal=principal, action=action, target=None, target_label="", project=None, data=data)


def journal_or_save(event: NewEvent) -> bool:
    """Hand a read's event to the journal of `audit_deferred_to()`; True if it took it. Otherwise (no
    journal, or a full one) the caller must `save_now()` it, in a thread that may use the database."""
    journal = _JOURNAL.get()
    return journal is not None and journal.add(event)


def save_now(event: NewEvent) -> None:
    """Write a read's event in a transaction of its own."""
    with transaction.atomic():
        event.to_model().save()
        _queue_sealing(event.organization_id)


class Deferred(Protocol):
    """Where the events of `audit_deferred_to()` go (accounts.audit.journal.Journal)."""

    def add(self, event: NewEvent) -> bool: ...

    def note(self, org_id: int) -> None: ...


_JOURNAL: ContextVar[Deferred | None] = ContextVar("audit_journal", default=None)


@contextmanager
def audit_deferred_to(journal: Deferred) -> Iterator[None]:
    """Inside the block, reads' events go to `journal`, and a commit notes its organizations there to be
    sealed later, instead of sealing them in the committing thread."""
    token = _JOURNAL.set(journal)
    try:
        yield
    finally:
        _JOURNAL.reset(token)


class _SealAfterCommit:
    """The on_commit callback that seals one organization's chain (all its pending events at once)."""

    def __init__(self, org_id: int, sink: Callable[[int], None] | None = None) -> None:
        self.org_id = org_id
        self.sink = sink
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        try:
            if self.sink is not None:
                self.sink(self.org_id)
                return
            seal_pending(org_id=self.org_id)
        except Exception:
            # The events are committed; an unsealed event is sealed by the next one of its organization.
            logger.exception("could not seal the audit chain of organization %s", self.org_id)


def _queue_sealing(org_id: int) -> None:
    """One sealing per organization per transaction, however many events it records."""
    # Django's own list of pending callbacks is the source of truth: a savepoint rollback removes the
    # callbacks queued inside it, so an event recorded after that queues a sealing again. (`ran`: the
    # test harness, captureOnCommitCallbacks, runs callbacks without removing them from the list.)
    pending = transaction.get_connection().run_on_commit
    if not any(isinstance(f, _SealAfterCommit) and f.org_id == org_id and not f.ran for _, f, _ in pending):
        journal = _JOURNAL.get()
        sink = journal.note if journal is not None else None
        transaction.on_commit(_SealAfterCommit(org_id, sink), robust=True)
