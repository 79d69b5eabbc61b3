"""One behavioural suite, two stores: every test taking ``backend`` runs on SQLite and PostgreSQL.

PostgreSQL tests use a fresh schema per test (``audit_test_<run>_<n>``), dropped when the test ends,
pass or fail; a session finaliser sweeps any schema of this run that is left. PostgreSQL being
unreachable is a failure, not a skip: CI starts it.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from orchestrator.audit.digests import DIGESTS_TABLE
from orchestrator.audit.factory import open_audit_store, open_holding_store
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.store import AuditStore

PG_URL = os.environ.get("AUDIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
RUN_TOKEN = uuid.uuid4().hex[:8]
_schema_numbers = itertools.count(1)


class RawRefusedError(Exception):
    """A raw statement the database refused (e.g. by the append-only trigger)."""


@dataclass
class Backend:
    """A store under test plus raw access to its table, bypassing the store (to tamper)."""

    name: str
    url: str
    store: AuditStore
    table: str
    sqlite_path: Path | None = None
    schema: str | None = None

    def open_another(self) -> AuditStore:
        return open_audit_store(self.url)

    async def raw(self, statement: str) -> list[tuple[Any, ...]]:
        """Run one statement outside the store and commit; RawRefusedError if refused."""
        statement = statement.replace("{table}", self.table)
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            try:
                rows = conn.execute(statement).fetchall()
                conn.commit()
                return rows
            except sqlite3.Error as exc:
                raise RawRefusedError(str(exc)) from exc
            finally:
                conn.close()
        try:
            async with await psycopg.AsyncConnection.connect(PG_URL, autocommit=True) as pg:
                cur = await pg.execute(statement.encode())
                return await cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise RawRefusedError(str(exc)) from exc

    async def disable_guards(self) -> None:
        """What a tamperer with full database access does first."""
        if self.sqlite_path is not None:
            await self.raw("DROP TRIGGER audit_events_no_update")
            await self.raw("DROP TRIGGER audit_events_no_delete")
        else:
            await self.raw("ALTER TABLE {table} DISABLE TRIGGER audit_events_no_change")


def _pg_admin() -> psycopg.Connection[tuple[Any, ...]]:
    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable (CI starts it): {exc}")


def _drop_schemas(like: str) -> None:
    with _pg_admin() as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (like,)
            ).fetchall()
        ]
        for name in names:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_run() -> Iterator[str]:
    """The schema prefix of this test run; every schema with it is dropped at session end."""
    prefix = f"audit_test_{RUN_TOKEN}_"
    yield prefix
    _drop_schemas(prefix.replace("_", r"\_") + "%")


@pytest.fixture
def pg_schema(pg_run: str) -> Iterator[str]:
    schema = f"{pg_run}{next(_schema_numbers)}"
    _pg_admin().close()  # fail fast and clearly if the server is down
    try:
        yield schema
    finally:
        _drop_schemas(schema.replace("_", r"\_"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "state" / "audit.db"
        url = f"sqlite:///{path}"
        made = Backend("sqlite", url, open_audit_store(url), "audit_events", sqlite_path=path)
    else:
        schema: str = request.getfixturevalue("pg_schema")
        url = f"{PG_URL}?schema={schema}"
        made = Backend("postgres", url, open_audit_store(url), f'"{schema}".audit_events')
        made.schema = schema
    try:
        yield made
    finally:
        await made.store.close()


@pytest.fixture
async def digests(backend: Backend) -> AsyncIterator[HoldingStore]:
    """The signed-digest store beside the backend's events."""
    store = open_holding_store(backend.url, DIGESTS_TABLE)
    try:
        yield store
    finally:
        await store.close()
