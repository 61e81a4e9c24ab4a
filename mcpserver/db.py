"""Running ORM code from the MCP endpoint: a small pool of threads, each keeping its connection.

Why not Django's default (`sync_to_async(thread_sensitive=True)` inside a per-request
`ThreadSensitiveContext`, then `close_old_connections`)? That starts a new thread and opens a new
database connection for every MCP request; measured (BENCHMARKS.md) this was most of the endpoint's
cost. Here a fixed pool of worker threads runs the ORM calls of all MCP requests (concurrent requests
still run in parallel, up to the pool size), and each thread keeps its connection between calls:

- every call is self-contained (services open and close their own transactions), so nothing of one
  request is left on a connection for the next;
- a connection that saw an error and is no longer usable is closed after the call; one idle for
  longer than `IDLE_CHECK` seconds is checked before use (a server restart or an idle timeout must
  not fail the next request); one older than `MAX_AGE` seconds is closed and reopened;
- once one connection is found broken, or cannot be opened (the database went away: a restart, a
  failover, an outage), every other connection not checked since is checked before its next use,
  so that after the database is back no thread answers a request with a connection it broke;
- the pool's connections are closed when the server shuts down (`close_pool`, from the lifespan).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.core import rls
from accounts.core.rls import tenant_scope
from mcpserver.context import CURRENT_PRINCIPAL

T = TypeVar("T")

POOL_SIZE = int(os.environ.get("MCP_DB_THREADS", min(32, (os.cpu_count() or 1) + 4)))
MAX_AGE = 300.0
IDLE_CHECK = 30.0

_executor = ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="mcp-db")
_opened: dict[BaseDatabaseWrapper, float] = {}  # connection wrapper → when its connection was opened
_used: dict[BaseDatabaseWrapper, float] = {}
_checked: dict[BaseDatabaseWrapper, float] = {}  # when `is_usable()` last said yes
_broken_at = -math.inf  # when a pool connection was last found broken: the others may be too
_lock = threading.Lock()


def _before() -> None:
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        opened = _opened.get(conn, now)
        if now - opened > MAX_AGE:
            _close(conn)
            continue
        suspect = _checked.get(conn, opened) <= _broken_at
        if suspect or now - _used.get(conn, now) > IDLE_CHECK:
            if conn.is_usable():
                with _lock:
                    _checked[conn] = now
            else:
                _close(conn)


def _after() -> None:
    global _broken_at
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            if conn.errors_occurred:  # it could not connect: connections checked before are suspect
                _broken_at = now
                conn.errors_occurred = False
            with _lock:
                _opened.pop(conn, None)
                _checked.pop(conn, None)
            continue
        if conn.errors_occurred:
            if not conn.is_usable():
                _broken_at = now
                _close(conn)
                continue
            conn.errors_occurred = False
        with _lock:
            _opened.setdefault(conn, now)
            _used[conn] = now


def _close(conn: BaseDatabaseWrapper) -> None:
    conn.close()
    with _lock:
        _opened.pop(conn, None)
        _used.pop(conn, None)
        _checked.pop(conn, None)


def _call(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    _before()
    try:
        principal = CURRENT_PRINCIPAL.get()
        if principal is None:  # authentication, the sealer: they scope what they touch themselves
            return fn(**kwargs)
        # Row-level security: the call sees and writes its caller's organization only (accounts/core/rls.py),
        # in one transaction (one statement of settings, not one per statement).
        with tenant_scope(organization_id=principal.organization.pk), _transaction():
            return fn(**kwargs)
    finally:
        _after()


def _transaction() -> contextlib.AbstractContextManager[Any]:
    # Not on SQLite, where a transaction would take the write lock for a read.
    return transaction.atomic() if rls.enforced() else contextlib.nullcontext()


async def run_db(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run synchronous ORM code in the MCP pool; context variables (the principal) go along.

    `loop.run_in_executor` on a copy of the context rather than `sync_to_async`: the same hop without
    asgiref's per-call bookkeeping (~25 µs less per call, measured). Changes the function makes to
    context variables stay in its copy, which nothing here relies on.
    """
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_executor, context.run, _call, fn, kwargs)


def pool_connections() -> list[BaseDatabaseWrapper]:
    """The connection wrappers the pool's threads hold open (for tests and diagnostics)."""
    with _lock:
        return list(_opened)


def close_pool() -> None:
    """Close the connections of every pool thread (at shutdown; the database may be dropped next).

    One task per thread, held at a barrier until all have started, so each thread closes its own.
    """
    barrier = threading.Barrier(POOL_SIZE)

    def close_own() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=10)
        connections.close_all()

    for future in [_executor.submit(close_own) for _ in range(POOL_SIZE)]:
        future.result(timeout=30)
    with _lock:
        # Forget the closed ones only: Django never closes an in-memory SQLite database's connection.
        for conn in [conn for conn in _opened if conn.connection is None]:
            _opened.pop(conn, None)
            _used.pop(conn, None)
            _checked.pop(conn, None)
