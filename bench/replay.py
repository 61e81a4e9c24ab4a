"""Replaying the SQL that Gatehouse's tools issue (captured by bench/prepare.py), with the driver alone.

No Django here: the bare server opens its own connection per worker thread, the way Django does
(SQLite: `sqlite3` in autocommit mode with `PRAGMA foreign_keys = ON` and the settings' init command
`journal_mode=WAL; synchronous=NORMAL`, busy timeout 20 s; PostgreSQL: psycopg 3 in autocommit mode
with client-side binding, `ClientCursor`, as Django's default), and runs a recipe's operations in
order: each statement with its recorded parameters (those marked `$fresh` renewed for the call),
rows fetched whenever the statement returns any; `autocommit` off/on, `commit` and `rollback` where
Django did them (on SQLite the `BEGIN IMMEDIATE` is itself a recorded statement).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_PUBLIC_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # accounts/core/ids.py
_QMARK = re.compile(r"(?<!%)%s")


class Database:
    """One connection per thread, opened on first use and kept (like Gatehouse's MCP pool)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.vendor = "sqlite" if url.startswith("sqlite:") else "postgresql"
        self._local = threading.local()

    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> Any:
        if self.vendor == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            conn = sqlite3.connect(path, timeout=20, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        return psycopg.connect(
            self.url, autocommit=True, cursor_factory=psycopg.ClientCursor, prepare_threshold=None
        )

    def run(self, ops: list[dict[str, Any]]) -> int:
        """Run one recipe; returns the number of rows fetched."""
        conn = self.connection()
        fresh: dict[str, Any] = {}
        rows = 0
        sqlite = self.vendor == "sqlite"
        for op in ops:
            if "sql" in op:
                sql = op["sql"]
                params = None if op["params"] is None else [self._decode(p, fresh) for p in op["params"]]
                if sqlite:
                    sql = _QMARK.sub("?", sql).replace("%%", "%")
                    cursor = conn.execute(sql, params or ())
                else:
                    cursor = conn.cursor()
                    cursor.execute(sql, params)
                if cursor.description is not None:
                    rows += len(cursor.fetchall())
            elif "autocommit" in op:
                if not sqlite:
                    conn.autocommit = op["autocommit"]
            elif "commit" in op:
                conn.commit()
            elif "rollback" in op:
                conn.rollback()
        return rows

    def _decode(self, value: Any, fresh: dict[str, Any]) -> Any:
        if not isinstance(value, dict):
            return value
        if "$fresh" in value:
            key = value["was"]  # one new value per captured value, shared by the positions that held it
            if key not in fresh:
                fresh[key] = self._fresh(value)
            return fresh[key]
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$uuid" in value:
            return uuid.UUID(value["$uuid"])
        if "$dec" in value:
            return Decimal(value["$dec"])
        if "$ip" in value:
            return ipaddress.ip_address(value["$ip"])
        if "$list" in value:
            return [self._decode(v, fresh) for v in value["$list"]]
        if "$jsonb" in value or "$json" in value:
            from psycopg.types.json import Json, Jsonb

            return Jsonb(value["$jsonb"]) if "$jsonb" in value else Json(value["$json"])
        raise ValueError(f"unknown parameter encoding {value!r}")

    @staticmethod
    def _fresh(spec: dict[str, Any]) -> Any:
        kind = spec["$fresh"]
        now = datetime.now(UTC)
        if kind == "now":
            return now
        if kind == "now_text":  # Django's SQLite format: naive UTC, str(datetime)
            return str(now.replace(tzinfo=None))
        if kind == "public_id":
            return f"{spec['prefix']}_" + "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(16))
        if kind == "uuid":
            return uuid.uuid4()
        raise ValueError(f"unknown fresh value {kind!r}")
