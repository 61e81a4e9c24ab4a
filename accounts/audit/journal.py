"""Audit events of reads, kept in memory for a moment and written in batches, already sealed.

Writes record their event inside their own transaction (accounts/audit/record.py): an acknowledged
change always has its event. A read changed nothing, and most MCP calls are reads; writing each one's
event in a transaction of its own, then sealing it, was a third of an MCP call's cost. Code that
runs inside `audit_deferred_to(journal)` (the MCP endpoint) hands such events to a `Journal`, whose
owner calls `flush()` about every 100 ms and at shutdown: per organization, one
transaction that seals what is pending and inserts the batch already chained (`seal_pending(append=…)`).

What a crash can lose is bounded: the events of reads waiting or being written, at most `max_pending`
together (a full journal refuses more, and its callers write their event at once).
A flush that fails keeps its events for the next one. BENCHMARKS.md has the numbers.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from accounts.audit.chain import seal_pending
from accounts.audit.models import NewEvent

logger = logging.getLogger(__name__)

# Also the most a crash can lose: under a load the writer cannot keep up with, calls write their own
# events past this many, so the backlog (and what a kill -9 takes with it) stops growing.
MAX_PENDING = 1_000
# A failing organization is tried again on the next flushes, this many in a row at most: one deleted
# meanwhile (it had no event yet to protect it) must not be retried forever.
MAX_ATTEMPTS = 20


class Journal:
    """Read events waiting to be written, and organizations whose committed events wait to be sealed."""

    def __init__(self, *, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending
        self._events: list[NewEvent] = []
        self._to_seal: set[int] = set()
        self._failures: dict[int, int] = {}  # organization id → flushes failed in a row
        self._writing = 0  # events taken by a flush in progress: lost too if the process dies now
        self._lock = threading.Lock()  # appended to from the event loop and the database threads

    def add(self, event: NewEvent) -> bool:
        """Keep a read's event for the next flush; False when full (then the caller writes it now)."""
        with self._lock:
            if len(self._events) + self._writing >= self.max_pending:
                return False
            self._events.append(event)
            return True

    def note(self, org_id: int) -> None:
        """After a commit: this organization has events to seal."""
        with self._lock:
            self._to_seal.add(org_id)

    def __len__(self) -> int:
        return len(self._events)

    @property
    def idle(self) -> bool:
        return not self._events and not self._to_seal

    def flush(self) -> int:
        """Write and seal everything kept, per organization (in the calling thread); how many sealed.

        An organization whose transaction fails keeps its events and its place for the next flush.
        """
        with self._lock:
            events, self._events = self._events, []
            to_seal, self._to_seal = self._to_seal, set()
            self._writing = len(events)
        try:
            return self._write(events, to_seal)
        finally:
            with self._lock:
                self._writing = 0

    def _write(self, events: list[NewEvent], to_seal: set[int]) -> int:
        batches: dict[int, list[NewEvent]] = defaultdict(list)
        for event in events:
            batches[event.organization_id].append(event)
        sealed = 0
        for org_id in sorted(to_seal | batches.keys()):
            batch = batches.get(org_id, [])
            try:
                sealed += seal_pending(org_id=org_id, append=batch)
            except Exception:
                attempts = self._failures.get(org_id, 0) + 1
                logger.exception(
                    "could not write the audit events of organization %s (attempt %s)", org_id, attempts
                )
                if attempts >= MAX_ATTEMPTS:
                    self._failures.pop(org_id, None)
                    logger.error("gave up on %s audit events of organization %s", len(batch), org_id)
                    continue
                self._failures[org_id] = attempts
                for event in batch:  # unsealed again: the failed transaction may have set these
                    event.seq, event.prev_hash, event.hash = None, "", ""
                with self._lock:
                    self._events[:0] = batch
                    self._to_seal.add(org_id)
            else:
                self._failures.pop(org_id, None)
        return sealed
