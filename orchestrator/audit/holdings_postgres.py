"""PostgreSQL holdings store: a ``holdings`` table (or another named one; jsonb bodies) in the
audit schema.

It runs on the audit store's own connection machinery (one lazily opened autocommit connection per
store, one task at a time, a connection of unknown state never reused, errors as
:class:`~orchestrator.errors.AuditError` with the DSN password masked), so the schema is created
and reported on exactly as the audit history is. Each compare-and-swap is one conditional
statement (``INSERT ... ON CONFLICT DO NOTHING``, ``UPDATE``/``DELETE ... WHERE version = %s``):
under READ COMMITTED a racing writer waits for the row lock, then re-checks the version against the
committed row, so exactly one of two writers that read the same version succeeds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from psycopg import sql

from orchestrator.audit.holdings import (
    HOLDINGS_TABLE,
    StoredHolding,
    body_json,
    check_table,
    check_target,
    check_version,
    holding_from_row,
)
from orchestrator.audit.postgres_store import Conn, PostgresAuditStore, _fetch
from orchestrator.audit.rows import Clock, utc_now

T = TypeVar("T")
_DDL = """CREATE TABLE IF NOT EXISTS {t} (
    target text PRIMARY KEY,
    version bigint NOT NULL,
    body jsonb NOT NULL,
    updated_at timestamptz NOT NULL
)"""
_SELECT = "SELECT target, version, body::text, updated_at FROM {t}"
_CREATE = (
    "INSERT INTO {t} (target, version, body, updated_at) VALUES (%s, 1, %s::jsonb, %s)"
    " ON CONFLICT (target) DO NOTHING RETURNING target, version, body::text, updated_at"
)
_REPLACE = (
    "UPDATE {t} SET version = version + 1, body = %s::jsonb, updated_at = %s"
    " WHERE target = %s AND version = %s RETURNING target, version, body::text, updated_at"
)
_DELETE = "DELETE FROM {t} WHERE target = %s AND version = %s"
_EXPIRE = "DELETE FROM {t} WHERE updated_at < %s"


class PostgresHoldingStore:
    """A :class:`~orchestrator.audit.holdings.HoldingStore` in a PostgreSQL schema (the audit
    store's, created with it if missing)."""

    def __init__(
        self,
        dsn: str,
        schema: str = "orchestrator",
        *,
        table: str = HOLDINGS_TABLE,
        connect_timeout_s: int = 10,
        clock: Clock = utc_now,
    ) -> None:
        check_table(table)
        # Validates the schema name (ConfigError) and keeps the DSN as a Secret.
        self._db = PostgresAuditStore(
            dsn, schema=schema, connect_timeout_s=connect_timeout_s, clock=clock
        )
        self._schema = schema
        self._clock = clock
        self._name = table
        self._table = sql.Identifier(schema, table)
        self._lock_key = int.from_bytes(
            hashlib.sha256(f"orchestrator.{table}:{schema}".encode()).digest()[:8], signed=True
        )
        self._ready = False  # only read and written under the audit store's lock

    def __repr__(self) -> str:
        return f"PostgresHoldingStore(schema={self._schema!r}, table={self._name!r})"

    async def get(self, target: str) -> StoredHolding | None:
        check_target(target)
        query = self._sql(_SELECT + " WHERE target = %s")
        rows = await self._run("holding get", lambda conn: _fetch(conn, query, (target,)))
        return holding_from_row(rows[0]) if rows else None

    async def put(
        self, target: str, body: dict[str, Any], *, expect_version: int
    ) -> StoredHolding | None:
        check_target(target)
        check_version(expect_version)
        text = body_json(body)

        async def swap(conn: Conn) -> list[Any]:
            now = self._clock()
            if expect_version == 0:
                return await _fetch(conn, self._sql(_CREATE), (target, text, now))
            params = (text, now, target, expect_version)
            return await _fetch(conn, self._sql(_REPLACE), params)

        rows = await self._run("holding put", swap)
        return holding_from_row(rows[0]) if rows else None

    async def delete(self, target: str, *, expect_version: int) -> bool:
        check_target(target)
        check_version(expect_version)

        async def remove(conn: Conn) -> bool:
            cur = await conn.execute(self._sql(_DELETE), (target, expect_version))
            return cur.rowcount == 1

        return await self._run("holding delete", remove)

    async def expire(self, updated_before: datetime) -> int:
        async def remove(conn: Conn) -> int:
            cur = await conn.execute(self._sql(_EXPIRE), (updated_before,))
            return cur.rowcount

        return await self._run("holding expire", remove)

    async def all(self) -> list[StoredHolding]:
        # COLLATE "C": code point order, the same as SQLite's, whatever the database's locale.
        query = self._sql(_SELECT + ' ORDER BY target COLLATE "C"')
        rows = await self._run("holding list", lambda conn: _fetch(conn, query, ()))
        return [holding_from_row(row) for row in rows]

    async def close(self) -> None:
        await self._db.close()

    # -- internals ----------------------------------------------------------------------------

    def _sql(self, template: str) -> sql.Composed:
        return sql.SQL(template).format(t=self._table)

    async def _run(self, what: str, work: Callable[[Conn], Awaitable[T]]) -> T:
        async def prepared(conn: Conn) -> T:
            if not self._ready:
                await self._initialise(conn)
                self._ready = True
            return await work(conn)

        return await self._db._run(what, prepared)

    async def _initialise(self, conn: Conn) -> None:
        """Create the table unless it exists; the lock keeps concurrent creators from clashing."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            await conn.execute(self._sql(_DDL))
