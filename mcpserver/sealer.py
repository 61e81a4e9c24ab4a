"""The MCP endpoint's audit sealer: seals the chains of the organizations its tool calls wrote to.

Every MCP tool call writes an audit event (in the call's transaction, as everywhere). Sealing it
inline after commit costs ~5 queries per call, one of them a row lock all of an organization's
callers queue on; here the commit only notes the organization (`accounts.audit.sealing_deferred_to`)
and a task owned by the MCP app's lifespan seals each noted organization once per `INTERVAL`, in
the MCP database pool, however many calls it had meanwhile. At shutdown the lifespan stops the task
and seals what is left. An event is committed before it is noted, so a crash loses no event: it
stays unsealed until the next sealing of its organization (or `manage.py audit_verify --seal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading

from accounts.audit.chain import seal_pending
from mcpserver.db import run_db

logger = logging.getLogger(__name__)

INTERVAL = float(os.environ.get("MCP_AUDIT_SEAL_INTERVAL", "0.1"))
# A failed organization is tried again on the next passes (a locked database, a dropped connection),
# this many times in a row at most: a gone organization must not make the task spin forever.
MAX_ATTEMPTS = 20


class AuditSealer:
    """Organizations with committed, unsealed events, and the task that seals them."""

    def __init__(self, *, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._pending: set[int] = set()
        self._failures: dict[int, int] = {}  # organization id → consecutive failed attempts
        self._lock = threading.Lock()  # noted from the pool's threads, drained by the task
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def note(self, org_id: int) -> None:
        """After commit: this organization has events to seal (cheap; called on the request path)."""
        with self._lock:
            self._pending.add(org_id)

    def seal_now(self) -> int:
        """Seal every noted organization, in the calling thread; returns how many events were sealed."""
        with self._lock:
            org_ids, self._pending = sorted(self._pending), set()
        sealed = 0
        for org_id in org_ids:
            try:
                sealed += seal_pending(org_id=org_id)
            except Exception:
                # The events stay unsealed, never lost. Try again on the next passes; after
                # MAX_ATTEMPTS the organization's next event (or `audit_verify --seal`) takes them.
                attempts = self._failures.get(org_id, 0) + 1
                logger.exception(
                    "could not seal the audit chain of organization %s (attempt %s)", org_id, attempts
                )
                if attempts < MAX_ATTEMPTS:
                    self._failures[org_id] = attempts
                    self.note(org_id)
                else:
                    self._failures.pop(org_id, None)
            else:
                self._failures.pop(org_id, None)
        return sealed

    def start(self) -> None:
        """Start the sealing task on the running loop (at lifespan startup)."""
        if not self.running:
            self._stopping = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mcp-audit-sealer")

    async def stop(self) -> None:
        """Let a pass in progress finish, stop the task, then seal what is left (at lifespan shutdown)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
        if self._pending:
            await run_db(self.seal_now)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)
            if self._pending:  # a racy peek is fine: a missed organization is seen on the next tick
                try:
                    await run_db(self.seal_now)
                except Exception:  # the pool itself failed; keep the task alive for the next tick
                    logger.exception("audit sealing pass failed")
