"""Reading an organization's credential generation from the event loop, without a thread hop.

Every MCP request whose credential is cached (accounts/core/credential_cache.py) reads one row: its
organization's `CredentialGeneration`. Handing that to the ORM's thread pool would cost more than
the read itself, so the event loop reads it on a connection of its own: psycopg's async connection
on PostgreSQL; on SQLite, a plain sqlite3 connection (a primary-key read in WAL mode takes
microseconds and never waits on a writer). Any error answers None: the caller then resolves the
token in full, in the pool, where a broken database is reported like anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

import psycopg
from django.db import connections

from accounts.core.credential_cache import GENERATION_SQL

GENERATIONS_SQL = (
    "SELECT organization_id, value FROM accounts_credentialgeneration WHERE organization_id = ANY(%s)"
)

logger = logging.getLogger(__name__)


class _SQLite:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.name = str(settings["NAME"])
        self.connection: sqlite3.Connection | None = None

    async def read(self, organization_id: int) -> int | None:
        try:
            if self.connection is None:
                self.connection = sqlite3.connect(
                    self.name, uri=self.name.startswith("file:"), check_same_thread=False, timeout=1
                )
                # A shared-cache database (the test suite's in-memory one) would otherwise lock tables.
                self.connection.execute("PRAGMA read_uncommitted = 1")
            row = self.connection.execute(GENERATION_SQL.replace("%s", "?"), (organization_id,)).fetchone()
        except sqlite3.Error:
            logger.warning("could not read a credential generation", exc_info=True)
            await self.close()
            return None
        return int(row[0]) if row is not None else None

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self.connection.close()
            self.connection = None


class _PostgreSQL:
    """Reads in rounds: a round reads every organization asked for since the previous round began.

    Each request waits for a round that starts after it arrived, so it sees every change committed
    before it arrived (the very next request after a revocation is refused), while at concurrency
    one round answers many requests: a round trip to PostgreSQL cost more than the rest of a cached
    call. A lone request starts its round at once.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        self.conninfo = psycopg.conninfo.make_conninfo(
            dbname=settings["NAME"],
            user=settings.get("USER") or None,
            password=settings.get("PASSWORD") or None,
            host=settings.get("HOST") or None,
            port=str(settings["PORT"]) if settings.get("PORT") else None,
            options=settings.get("OPTIONS", {}).get("options"),
            application_name="gatehouse-mcp-generations",
            connect_timeout=5,
        )
        self.connection: psycopg.AsyncConnection[Any] | None = None
        self.waiting: dict[int, list[asyncio.Future[int | None]]] = {}
        self.round: asyncio.Task[None] | None = None

    async def read(self, organization_id: int) -> int | None:
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(organization_id, []).append(future)
        if self.round is None or self.round.done():
            self.round = asyncio.get_running_loop().create_task(self._rounds())
        return await future

    async def _rounds(self) -> None:
        while self.waiting:
            asked, self.waiting = self.waiting, {}
            values: dict[int, int] | None = None
            try:
                values = await self._read_many(list(asked))
            finally:  # whatever happened, nobody waits forever: None sends them to the full lookup
                for organization_id, futures in asked.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(values.get(organization_id) if values is not None else None)

    async def _read_many(self, organization_ids: list[int]) -> dict[int, int] | None:
        try:
            if self.connection is None or self.connection.closed:
                self.connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            cursor = await self.connection.execute(GENERATIONS_SQL, (organization_ids,), prepare=True)
            return {int(org): int(value) for org, value in await cursor.fetchall()}
        except psycopg.Error:
            logger.warning("could not read credential generations", exc_info=True)
            await self.close()
            return None

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()


class GenerationReader:
    """The event loop's reader of credential generations; made lazily, for the database in use."""

    def __init__(self) -> None:
        self._reader: _SQLite | _PostgreSQL | None = None

    async def read(self, organization_id: int) -> int | None:
        if self._reader is None:
            # At first use, not at import: the test runner renames the database in between.
            database = connections["default"]
            settings = database.settings_dict
            self._reader = _PostgreSQL(settings) if database.vendor == "postgresql" else _SQLite(settings)
        return await self._reader.read(organization_id)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
