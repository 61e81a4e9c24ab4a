"""The MCP endpoint's audit writer: the task that flushes its journal of audit events.

Every MCP request leaves an audit event. A write's is inserted in the write's own transaction, as
everywhere; its commit then only notes the organization. A read's is built in memory and kept
(accounts/audit/journal.py). Inside each request the gateway points both at this sealer's journal
(`accounts.audit.record.audit_deferred_to`), and a task owned by the MCP app's lifespan flushes it
every `INTERVAL`, in the MCP database pool: per organization, one transaction that seals what writes
committed and inserts the reads' events already chained. At shutdown the lifespan stops the task and
flushes what is left.

While the database is unreachable, a pass writes nothing and the journal keeps its events (up to
`Journal.max_pending`) for the first pass after it returns: a pass checks the connection first, so
the outage does not spend the attempts the journal allows an organization whose writes fail.

A crash loses no write's event: it is committed, and any worker's task chains it. Every `SWEEP_EVERY`
seconds the task also looks for events that some process committed more than `SWEEP_AFTER` seconds
ago and never sealed (it was killed between its commit and its sealing, in this app or in the
dashboard), and seals their organizations. A crash loses at most the read events of the last
`INTERVAL`, or of the backlog when the writer falls behind (at most `Journal.max_pending`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from accounts.audit.chain import organizations_left_unsealed
from accounts.audit.journal import Journal
from accounts.core import outage
from mcpserver.db import run_db

logger = logging.getLogger(__name__)

INTERVAL = float(os.environ.get("MCP_AUDIT_SEAL_INTERVAL", "0.1"))
# Long enough that the process which committed an event has sealed it, if it is alive.
SWEEP_AFTER = 5.0
SWEEP_EVERY = float(os.environ.get("MCP_AUDIT_SWEEP_INTERVAL", "10"))
OUTAGE_INTERVAL = 1.0  # how often a pass checks whether an unreachable database is back


class AuditSealer:
    """The journal of one MCP app, and the task that flushes it."""

    def __init__(self, *, interval: float = INTERVAL, sweep_every: float = SWEEP_EVERY) -> None:
        self.interval = interval
        self.sweep_every = sweep_every
        self.journal = Journal()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.waiting = False  # the last pass found the database unreachable

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def note(self, org_id: int) -> None:
        """After commit: this organization has events to seal (cheap; called on the request path)."""
        self.journal.note(org_id)

    def seal_now(self) -> int:
        """Flush the journal in the calling thread; returns how many events were sealed."""
        return self.journal.flush()

    def sweep(self) -> int:
        """Note the organizations whose events another process left unsealed; returns how many."""
        cutoff = timezone.now() - timedelta(seconds=SWEEP_AFTER)
        orphaned = organizations_left_unsealed(committed_before=cutoff)
        for org_id in orphaned:
            self.journal.note(org_id)
        if orphaned:
            logger.warning("sealing audit events left unsealed in %s organization(s)", len(orphaned))
        return len(orphaned)

    def seal_when_reachable(self) -> int:
        """A pass: `seal_now()` if the database answers; otherwise keep everything for a later pass.

        The journal gives up on an organization after `MAX_ATTEMPTS` failed flushes in a row (two
        seconds at the default interval); an outage is not the organization's failure.
        """
        try:
            connection.ensure_connection()
        except outage.OUTAGE_ERRORS:
            if not self.waiting:
                self.waiting = True
                logger.error("audit writer: database unavailable; %s events kept", len(self.journal))
            return 0
        if self.waiting:
            self.waiting = False
            logger.warning("audit writer: database back; writing %s kept events", len(self.journal))
        return self.seal_now()

    def start(self) -> None:
        """Start the flushing task on the running loop (at lifespan startup)."""
        if not self.running:
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mcp-audit-sealer")

    async def stop(self) -> None:
        """Let a pass in progress finish, stop the task, then flush what is left (at lifespan shutdown)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        if not self.journal.idle:
            await run_db(self.seal_now)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time()  # at startup first: a restarted worker seals what its death left
        while not self._stopping.is_set():
            if loop.time() >= next_sweep:
                next_sweep = loop.time() + self.sweep_every
                try:
                    await run_db(self.sweep)
                except outage.OUTAGE_ERRORS:  # the next sweep tries again; the pass logs the outage
                    pass
                except Exception:
                    logger.warning("could not look for unsealed audit events", exc_info=True)
            interval = max(self.interval, OUTAGE_INTERVAL) if self.waiting else self.interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=interval)
            if not self.journal.idle:  # a racy peek is fine: what it misses is seen on the next tick
                try:
                    await run_db(self.seal_when_reachable)
                except Exception:  # the pool itself failed; keep the task alive for the next tick
                    logger.exception("audit sealing pass failed")
