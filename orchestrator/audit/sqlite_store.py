"""SQLite audit store: the default, one file, safe for many threads and processes at once.

WAL mode lets readers run beside the one writer; every append runs in ``BEGIN IMMEDIATE`` (the
write lock is taken before the last hash is read), so concurrent writers in threads or separate
processes queue up behind ``busy_timeout`` instead of forking the chain. Triggers refuse UPDATE and
DELETE; the hash chain still catches edits made by someone who drops them.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.audit.chain import GENESIS_HASH, seal
from orchestrator.audit.model import (
    AuditEvent,
    ChainReport,
    IncidentState,
    IncidentSummary,
    StoredEvent,
    canonical_json,
    iso_utc,
)
from orchestrator.audit.query import EventFilter
from orchestrator.audit.query_sql import SQLITE, SQLITE_INDEXES, where
from orchestrator.audit.query_sql import incidents as incidents_sql
from orchestrator.audit.rows import (
    EVENT_COLUMNS,
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
from orchestrator.errors import AuditError, NotFoundError

T = TypeVar("T")
SCHEMA_VERSION = 2
"""2: the query indexes (:data:`~orchestrator.audit.query_sql.SQLITE_INDEXES`)."""
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_events (
        seq INTEGER PRIMARY KEY,
        event_key TEXT NOT NULL UNIQUE,
        incident_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        service TEXT NOT NULL,
        slo TEXT NOT NULL,
        summary TEXT NOT NULL,
        data TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_events_incident ON audit_events (incident_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_events_service ON audit_events (service, incident_id)",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END""",
)
_SELECT = f"SELECT {EVENT_COLUMNS} FROM audit_events"  # noqa: S608 - constant column list
INSERT = f"INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES ({', '.join('?' * 14)})"  # noqa: S608


class SqliteAuditStore:
    """An :class:`~orchestrator.audit.store.AuditStore` in one SQLite file (or ``":memory:"``)."""

    def __init__(
        self, path: Path | str, *, busy_timeout_s: float = 30.0, clock: Clock = utc_now
    ) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._lock = _file_lock(path)
        self._thread = _file_thread(path)
        self._released = False
        self._closed = False

    def __repr__(self) -> str:
        return f"SqliteAuditStore({str(self._path)!r})"

    async def append(self, event: AuditEvent) -> StoredEvent:
        prepared = prepare_event(event)
        return await self._run(lambda conn: self._append(conn, prepared))

    async def append_many(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """:meth:`append` for each event in order, in one transaction (one sync to disk for the
        batch, not one per event: the holdings and the safety ledger writing to the same file
        wait behind one commit, not a burst of them). All or nothing."""
        prepared = [prepare_event(event) for event in events]
        return await self._run(
            lambda conn: _in_transaction(conn, lambda: [self._insert(conn, e) for e in prepared])
        )

    async def timeline(self, incident_id: str) -> list[StoredEvent]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"{_SELECT} WHERE incident_id >= ? AND incident_id < ?"
                " AND (incident_id = ? OR substr(incident_id, 1, ?) = ?) ORDER BY seq",
                (*timeline_range(incident_id), incident_id, *occurrences_of(incident_id)),
            ).fetchall()
        )
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
        clause, params = where(flt, SQLITE, after_seq=after_seq)
        rows = await self._run(
            lambda conn: conn.execute(
                f"{_SELECT} {clause} ORDER BY seq LIMIT ?", (*params, limit)
            ).fetchall()
        )
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
            incident_filter(service, flt), SQLITE, state=state, limit=limit
        )
        rows = await self._run(lambda conn: conn.execute(text, params).fetchall())
        return summaries_from_rows(rows)

    async def verify(self) -> ChainReport:
        return await verify_rows(self._page)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)
        if self._thread is not None and not self._released:
            self._released = True
            _file_thread(self._path, -1)

    # -- inside the worker thread -------------------------------------------------------------

    async def _page(self, since_seq: int, limit: int) -> list[Any]:
        return await self._run(
            lambda conn: conn.execute(
                f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", (since_seq, limit)
            ).fetchall()
        )

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._thread is None or self._released:  # closed: _locked says so
            return await asyncio.to_thread(self._locked, work)
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._closed:
                raise AuditError("the audit store is closed")
            try:
                return work(self._connection())
            except sqlite3.Error as exc:
                raise AuditError(f"SQLite audit store {str(self._path)!r} failed: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if isinstance(self._path, Path):
                self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                self._initialise(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _initialise(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        _use_wal(conn, self._busy_timeout_s)
        conn.execute("PRAGMA synchronous = FULL")
        _in_transaction(conn, lambda: _create_schema(conn))

    def _append(self, conn: sqlite3.Connection, event: AuditEvent) -> StoredEvent:
        found = _by_key(conn, event.event_key)
        if found is not None:
            return found
        return _in_transaction(conn, lambda: self._insert(conn, event))

    def _insert(self, conn: sqlite3.Connection, event: AuditEvent) -> StoredEvent:
        found = _by_key(conn, event.event_key)  # another process may have won the race
        if found is not None:
            return found
        last = conn.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, prev_hash = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS_HASH)
        stored = seal(event, seq=seq, prev_hash=prev_hash, recorded_at=self._clock())
        conn.execute(INSERT, row_values(stored))
        return stored

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path | str) -> threading.RLock:
    """One lock per database file in this process, shared by every store on it (the audit, the
    holdings, the safety ledger): their writers queue on it and are woken the moment it is free,
    instead of meeting SQLite's write lock and sleeping in its busy handler (1, 2, 5, 10... ms),
    which put audit writes in front of a flag step's holdings write (issue 15). Other processes
    still wait in ``busy_timeout``. Reentrant: a store's work may use another store's."""
    if str(path) == ":memory:":
        return threading.RLock()  # every connection to ":memory:" is its own database
    key = str(Path(path).resolve())
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(key, threading.RLock())


_FILE_THREADS: dict[str, tuple[ThreadPoolExecutor, int]] = {}


def _file_thread(path: Path | str, users: int = 1) -> ThreadPoolExecutor | None:
    """The one thread of this process that works on a database file (None for ":memory:": the
    shared pool), counting its stores (``users`` -1 when one closes; the last stops it). The
    stores' work queues there in order instead of in asyncio's shared pool of a few threads, where
    it waited behind everything else sent to a thread (a busy worker's file providers) until the
    safety ledger's check before a first change timed out (issue 15)."""
    if str(path) == ":memory:":
        return None
    key = str(Path(path).resolve())
    with _FILE_LOCKS_GUARD:
        thread, count = _FILE_THREADS.get(key) or (None, 0)
        if thread is None:
            thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        if count + users > 0:
            _FILE_THREADS[key] = (thread, count + users)
        else:
            _FILE_THREADS.pop(key, None)
            thread.shutdown(wait=False)
        return thread


def _use_wal(conn: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Put the file in WAL mode, waiting (bounded) while another connection does the same.

    Switching the journal mode needs an exclusive lock, and SQLite returns "database is locked"
    at once, without calling the busy handler, when another connection is opening the same new
    file at that moment. The mode is kept in the file, so a later connection finds it already set.
    """
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")  # an in-memory file stays "memory"
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _in_transaction(conn: sqlite3.Connection, work: Callable[[], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in (*_SCHEMA, *SQLITE_INDEXES):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _by_key(conn: sqlite3.Connection, key: str) -> StoredEvent | None:
    row = conn.execute(f"{_SELECT} WHERE event_key = ?", (key,)).fetchone()
    return events_from_rows([row])[0] if row else None


def row_values(event: StoredEvent) -> Sequence[Any]:
    """The values :data:`INSERT` stores for ``event`` (a bulk loader uses the same two)."""
    return (
        event.seq,
        event.event_key,
        event.incident_id,
        event.run_id,
        event.kind.value,
        iso_utc(event.at),
        event.actor,
        event.service,
        event.slo,
        event.summary,
        canonical_json(event.data),
        iso_utc(event.recorded_at),
        event.prev_hash,
        event.hash,
    )
