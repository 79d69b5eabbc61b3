"""SQLite holdings store: a ``holdings`` table (or another named one) in the SQLite audit database.

It runs on the audit store's own connection machinery (one connection per store, one worker thread
at a time, WAL, ``busy_timeout``, errors as :class:`~orchestrator.errors.AuditError`), so the file
is opened, set up and reported on exactly as the audit history is. Every write runs in
``BEGIN IMMEDIATE``: the write lock is taken before the version is compared, so writers in other
threads or processes queue behind ``busy_timeout`` and a compare-and-swap is never lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.audit.holdings import (
    HOLDING_COLUMNS,
    HOLDINGS_TABLE,
    StoredHolding,
    body_json,
    check_table,
    check_target,
    check_version,
    holding_from_row,
)
from orchestrator.audit.model import iso_utc
from orchestrator.audit.rows import Clock, utc_now
from orchestrator.audit.sqlite_store import SqliteAuditStore, _in_transaction

T = TypeVar("T")
_DDL = """CREATE TABLE IF NOT EXISTS {t} (
    target TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
)"""
_SELECT = f"SELECT {HOLDING_COLUMNS} FROM {{t}}"  # noqa: S608 - constant columns, checked table
_CREATE = (
    "INSERT INTO {t} (target, version, body, updated_at) VALUES (?, 1, ?, ?)"
    " ON CONFLICT (target) DO NOTHING"
)
_REPLACE = (
    "UPDATE {t} SET version = version + 1, body = ?, updated_at = ?"
    " WHERE target = ? AND version = ?"
)
_DELETE = "DELETE FROM {t} WHERE target = ? AND version = ?"
_EXPIRE = "DELETE FROM {t} WHERE updated_at < ?"


class SqliteHoldingStore:
    """A :class:`~orchestrator.audit.holdings.HoldingStore` in the SQLite audit database file."""

    def __init__(
        self,
        path: Path | str,
        *,
        table: str = HOLDINGS_TABLE,
        busy_timeout_s: float = 30.0,
        clock: Clock = utc_now,
    ) -> None:
        check_table(table)
        self._sql = {name: q.format(t=table) for name, q in _QUERIES.items()}
        self._table = table
        self._path = path
        self._clock = clock
        self._db = SqliteAuditStore(path, busy_timeout_s=busy_timeout_s, clock=clock)
        self._ready = False  # only read and written inside the audit store's lock

    def __repr__(self) -> str:
        return f"SqliteHoldingStore({str(self._path)!r}, table={self._table!r})"

    async def get(self, target: str) -> StoredHolding | None:
        check_target(target)
        return await self._run(lambda conn: self._by_target(conn, target))

    async def put(
        self, target: str, body: dict[str, Any], *, expect_version: int
    ) -> StoredHolding | None:
        check_target(target)
        check_version(expect_version)
        text = body_json(body)
        return await self._run(
            lambda conn: _in_transaction(
                conn, lambda: self._put(conn, target, text, expect_version)
            )
        )

    async def delete(self, target: str, *, expect_version: int) -> bool:
        check_target(target)
        check_version(expect_version)
        return await self._run(
            lambda conn: _in_transaction(
                conn,
                lambda: conn.execute(self._sql["delete"], (target, expect_version)).rowcount == 1,
            )
        )

    async def expire(self, updated_before: datetime) -> int:
        cutoff = iso_utc(updated_before)
        return await self._run(
            lambda conn: _in_transaction(
                conn, lambda: conn.execute(self._sql["expire"], (cutoff,)).rowcount
            )
        )

    async def all(self) -> list[StoredHolding]:
        query = self._sql["select"] + " ORDER BY target"
        rows = await self._run(lambda conn: conn.execute(query).fetchall())
        return [holding_from_row(row) for row in rows]

    async def close(self) -> None:
        await self._db.close()

    # -- inside the audit store's worker thread -----------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._db._run(lambda conn: self._prepared(conn, work))

    def _prepared(self, conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
        if not self._ready:
            _in_transaction(conn, lambda: conn.execute(self._sql["ddl"]))
            self._ready = True
        return work(conn)

    def _put(
        self, conn: sqlite3.Connection, target: str, text: str, expect_version: int
    ) -> StoredHolding | None:
        now = iso_utc(self._clock())
        if expect_version == 0:
            changed = conn.execute(self._sql["create"], (target, text, now)).rowcount
        else:
            params = (text, now, target, expect_version)
            changed = conn.execute(self._sql["replace"], params).rowcount
        return self._by_target(conn, target) if changed == 1 else None

    def _by_target(self, conn: sqlite3.Connection, target: str) -> StoredHolding | None:
        row = conn.execute(self._sql["select"] + " WHERE target = ?", (target,)).fetchone()
        return holding_from_row(row) if row else None


_QUERIES = {
    "ddl": _DDL,
    "select": _SELECT,
    "create": _CREATE,
    "replace": _REPLACE,
    "delete": _DELETE,
    "expire": _EXPIRE,
}
