"""PostgreSQL audit store: the shared deployment's history, one chain per schema.

One connection per store, used by one task at a time (an ``asyncio.Lock``). Appends take
``pg_advisory_xact_lock`` on a key derived from the schema before reading the last hash, so
appenders in any number of processes keep a single chain. A plpgsql trigger refuses UPDATE, DELETE
and TRUNCATE; the hash chain still catches edits made with the trigger disabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from orchestrator.audit.chain import GENESIS_HASH, seal
from orchestrator.audit.model import (
    AuditEvent,
    ChainReport,
    IncidentState,
    IncidentSummary,
    StoredEvent,
)
from orchestrator.audit.model import canonical_json as _json
from orchestrator.audit.query import EventFilter
from orchestrator.audit.query_sql import POSTGRES, postgres_indexes, where
from orchestrator.audit.query_sql import incidents as incidents_sql
from orchestrator.audit.rows import (
    Clock,
    check_page,
    events_from_rows,
    incident_filter,
    occurrences_of,
    prepare_event,
    summaries_from_rows,
    timeline_range,
    utc_now,
    verify_rows,
)
from orchestrator.errors import AuditError, ConfigError, NotFoundError
from orchestrator.secrets import REDACTED, Secret, redact_text

T = TypeVar("T")
Conn = psycopg.AsyncConnection[TupleRow]
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_TRIGGERS = ("audit_events_no_change", "audit_events_no_truncate")
_COLUMNS = sql.SQL(
    "seq, event_key, incident_id, run_id, kind, at, actor, service, slo, summary, data::text,"
    " recorded_at, prev_hash, hash"
)
_INDEX_DDL = (
    'CREATE INDEX IF NOT EXISTS audit_events_incident_c_idx ON {t} ((incident_id COLLATE "C"), seq)'
)
"""Byte order whatever the database's collation: a timeline reads one range of it."""
_DDL = (
    "CREATE SCHEMA IF NOT EXISTS {s}",
    """CREATE TABLE IF NOT EXISTS {t} (
        seq bigint PRIMARY KEY,
        event_key text NOT NULL UNIQUE,
        incident_id text NOT NULL,
        run_id text NOT NULL,
        kind text NOT NULL,
        at timestamptz NOT NULL,
        actor text NOT NULL,
        service text NOT NULL,
        slo text NOT NULL,
        summary text NOT NULL,
        data json NOT NULL,
        recorded_at timestamptz NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_events_incident_idx ON {t} (incident_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_events_service_idx ON {t} (service, incident_id)",
    """CREATE OR REPLACE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
    END
    $$""",
    """CREATE OR REPLACE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON {t}
    FOR EACH ROW EXECUTE FUNCTION {f}()""",
    """CREATE OR REPLACE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON {t}
    FOR EACH STATEMENT EXECUTE FUNCTION {f}()""",
    "ALTER TABLE {t} ENABLE TRIGGER audit_events_no_change",
    "ALTER TABLE {t} ENABLE TRIGGER audit_events_no_truncate",
)
_INDEXES = (*postgres_indexes(), _INDEX_DDL)
_INDEX_NAMES = [statement.split()[5] for statement in _INDEXES]


class PostgresAuditStore:
    """An :class:`~orchestrator.audit.store.AuditStore` in a PostgreSQL schema (PostgreSQL 14+)."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "orchestrator",
        connect_timeout_s: int = 10,
        clock: Clock = utc_now,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ConfigError(f"audit schema {schema!r} is not a plain SQL identifier")
        self._dsn = Secret(dsn)
        password = _password_of(dsn)
        self._password = Secret(password) if password else None
        self._schema = schema
        self._connect_timeout_s = connect_timeout_s
        self._clock = clock
        self._table = sql.Identifier(schema, "audit_events")
        self._lock_key = int.from_bytes(
            hashlib.sha256(f"orchestrator.audit:{schema}".encode()).digest()[:8], signed=True
        )
        self._conn: Conn | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresAuditStore(schema={self._schema!r})"

    async def append(self, event: AuditEvent) -> StoredEvent:
        prepared = prepare_event(event)
        return await self._run("append", lambda conn: self._append(conn, prepared))

    async def timeline(self, incident_id: str) -> list[StoredEvent]:
        query = self._select(
            'WHERE incident_id COLLATE "C" >= %s AND incident_id COLLATE "C" < %s'
            " AND (incident_id = %s OR substr(incident_id, 1, %s) = %s) ORDER BY seq"
        )
        params = (*timeline_range(incident_id), incident_id, *occurrences_of(incident_id))
        rows = await self._run("timeline", lambda conn: _fetch(conn, query, params))
        if not rows:
            raise NotFoundError(f"no audit events for incident {incident_id!r}")
        return events_from_rows(rows)

    async def events(self, *, since_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        check_page(since_seq, limit)
        return events_from_rows(await self._page(since_seq, limit))

    async def event_rows(self, *, since_seq: int = 0, limit: int = 1000) -> list[Sequence[Any]]:
        check_page(since_seq, limit)
        return list(await self._page(since_seq, limit))

    async def query(
        self, flt: EventFilter, *, limit: int = 100, after_seq: int = 0
    ) -> list[StoredEvent]:
        check_page(after_seq, limit)
        clause, params = where(flt, POSTGRES, after_seq=after_seq)
        query = self._select(f"{clause} ORDER BY seq LIMIT %s")
        rows = await self._run("query", lambda conn: _fetch(conn, query, (*params, limit)))
        return events_from_rows(rows)

    async def incidents(
        self,
        *,
        service: str | None = None,
        limit: int = 100,
        flt: EventFilter | None = None,
        state: IncidentState | None = None,
    ) -> list[IncidentSummary]:
        check_page(0, limit)
        text, params = incidents_sql(
            incident_filter(service, flt), POSTGRES, state=state, limit=limit
        )
        query = sql.SQL(text).format(t=self._table)
        rows = await self._run("incidents", lambda conn: _fetch(conn, query, params))
        return summaries_from_rows(rows)

    async def verify(self) -> ChainReport:
        return await verify_rows(self._page)

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await conn.close()

    # -- internals ----------------------------------------------------------------------------

    def _select(self, tail: str) -> sql.Composed:
        return sql.SQL("SELECT {} FROM {} {}").format(
            _COLUMNS, self._table, sql.SQL(tail).format(t=self._table)
        )

    async def _page(self, since_seq: int, limit: int) -> list[TupleRow]:
        query = self._select("WHERE seq > %s ORDER BY seq LIMIT %s")
        return await self._run("read", lambda conn: _fetch(conn, query, (since_seq, limit)))

    async def _run(self, what: str, work: Callable[[Conn], Awaitable[T]]) -> T:
        async with self._lock:
            if self._closed:
                raise AuditError("the audit store is closed")
            conn = await self._connection()
            try:
                return await work(conn)
            except psycopg.Error as exc:
                if conn.broken or conn.closed:
                    await self._discard(conn)
                raise self._error(what, exc) from (None if self._leaks(exc) else exc)
            except BaseException:
                # Cancelled mid-command (an activity timeout): the connection's state is unknown,
                # so never reuse it. An uncommitted append is rolled back with it; the retry is
                # idempotent by event key.
                await self._discard(conn)
                raise

    async def _discard(self, conn: Conn) -> None:
        if self._conn is conn:
            self._conn = None
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    async def _connection(self) -> Conn:
        if self._conn is not None:
            return self._conn
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._dsn.reveal(), autocommit=True, connect_timeout=self._connect_timeout_s
            )
        except psycopg.Error as exc:
            raise self._error("connect", exc) from (None if self._leaks(exc) else exc)
        try:
            await self._initialise(conn)
        except psycopg.Error as exc:
            await conn.close()
            raise self._error("schema set-up", exc) from (None if self._leaks(exc) else exc)
        self._conn = conn
        return conn

    async def _initialise(self, conn: Conn) -> None:
        """Create schema, table, indexes and triggers unless all exist and are enabled; add the
        query indexes to a table made before they existed."""
        await self._create(conn)
        cur = await conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = ANY(%s)",
            (self._schema, _INDEX_NAMES),
        )
        row = await cur.fetchone()
        if row is not None and row[0] == len(_INDEX_NAMES):
            return
        # A role limited to SELECT, INSERT (docs/audit.md) may not add them: it works without
        # them (slower) until the table's owner opens the store once.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
                for statement in _INDEXES:
                    await conn.execute(sql.SQL(statement).format(t=self._table))

    async def _create(self, conn: Conn) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            cur = await conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass(%s)"
                " AND tgname = ANY(%s) AND tgenabled <> 'D'",
                (f'"{self._schema}"."audit_events"', list(_TRIGGERS)),
            )
            row = await cur.fetchone()
            if row is not None and row[0] == len(_TRIGGERS):
                return
            names = {
                "s": sql.Identifier(self._schema),
                "t": self._table,
                "f": sql.Identifier(self._schema, "audit_events_append_only"),
            }
            for statement in _DDL:
                await conn.execute(sql.SQL(statement).format(**names))

    async def _append(self, conn: Conn, event: AuditEvent) -> StoredEvent:
        by_key = self._select("WHERE event_key = %s")
        found = await _fetch(conn, by_key, (event.event_key,))
        if found:
            return events_from_rows(found)[0]
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            found = await _fetch(conn, by_key, (event.event_key,))
            if found:  # another appender won the race
                return events_from_rows(found)[0]
            last = await _fetch(
                conn,
                sql.SQL("SELECT seq, hash FROM {} ORDER BY seq DESC LIMIT 1").format(self._table),
                (),
            )
            seq, prev_hash = (int(last[0][0]) + 1, str(last[0][1])) if last else (1, GENESIS_HASH)
            stored = seal(event, seq=seq, prev_hash=prev_hash, recorded_at=self._clock())
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (seq, event_key, incident_id, run_id, kind, at, actor, service,"
                    " slo, summary, data, recorded_at, prev_hash, hash)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::json, %s, %s, %s)"
                ).format(self._table),
                row_values(stored),
            )
        return stored

    def _leaks(self, exc: BaseException) -> bool:
        return self._password is not None and self._password.reveal() in str(exc)

    def _error(self, what: str, exc: BaseException) -> AuditError:
        message = redact_text(f"PostgreSQL audit store: {what} failed: {exc}".strip())
        if self._password is not None:
            message = message.replace(self._password.reveal(), REDACTED)
        return AuditError(message)


def row_values(stored: StoredEvent) -> tuple[Any, ...]:
    """The values an append inserts for ``stored``, in column order (a bulk loader uses them)."""
    return (
        stored.seq,
        stored.event_key,
        stored.incident_id,
        stored.run_id,
        stored.kind.value,
        stored.at,
        stored.actor,
        stored.service,
        stored.slo,
        stored.summary,
        _json(stored.data),
        stored.recorded_at,
        stored.prev_hash,
        stored.hash,
    )


async def _fetch(conn: Conn, query: sql.Composed, params: Any) -> list[TupleRow]:
    cur = await conn.execute(query, params)
    return await cur.fetchall()


def _password_of(dsn: str) -> str | None:
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        try:
            return urlsplit(dsn).password
        except ValueError:
            return None
    return None if password is None else str(password)
