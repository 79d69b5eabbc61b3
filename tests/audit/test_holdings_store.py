"""The holdings compare-and-swap store, run against SQLite and PostgreSQL alike.

PostgreSQL runs on the real server (see conftest): a fresh schema per test, dropped pass or fail.
"""

from __future__ import annotations

import asyncio
import sqlite3
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from orchestrator.audit.factory import open_audit_store, open_holding_store
from orchestrator.audit.holdings import MAX_TARGET_CHARS, HoldingStore
from orchestrator.audit.holdings_postgres import PostgresHoldingStore
from orchestrator.audit.holdings_sqlite import SqliteHoldingStore
from orchestrator.errors import AuditError, ConfigError
from tests.audit.conftest import PG_URL
from tests.audit.factories import event

TARGET = "flag:support-assistant-routing:rule:r-1"
PASSWORD = "s3cr3t-Pa55"


@dataclass
class Holdings:
    """A holdings store under test, and a way to open more on the same database (other workers)."""

    name: str
    url: str
    store: HoldingStore
    sqlite_path: Path | None = None
    schema: str | None = None
    others: list[HoldingStore] = field(default_factory=list)

    def open_another(self) -> HoldingStore:
        other = open_holding_store(self.url)
        self.others.append(other)
        return other

    async def tables(self) -> set[str]:
        """The tables of the audit database, read outside the store."""
        if self.sqlite_path is not None:
            conn = sqlite3.connect(self.sqlite_path)
            try:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                return {str(row[0]) for row in rows.fetchall()}
            finally:
                conn.close()
        async with await psycopg.AsyncConnection.connect(PG_URL) as pg:
            cur = await pg.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,)
            )
            return {str(row[0]) for row in await cur.fetchall()}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def holdings(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Holdings]:
    if request.param == "sqlite":
        path = tmp_path / "state" / "audit.db"
        url = f"sqlite:///{path}"
        made = Holdings("sqlite", url, open_holding_store(url), sqlite_path=path)
    else:
        schema: str = request.getfixturevalue("pg_schema")  # dropped when the test ends
        url = f"{PG_URL}?schema={schema}"
        made = Holdings("postgres", url, open_holding_store(url), schema=schema)
    try:
        yield made
    finally:
        for store in [made.store, *made.others]:
            await store.close()


def _everything_said(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


async def test_create_if_absent_then_a_second_create_fails(holdings: Holdings) -> None:
    store = holdings.store
    before = datetime.now(UTC)
    created = await store.put(TARGET, {"owner": "wf-1", "holders": ["a"]}, expect_version=0)

    assert created is not None
    assert (created.target, created.version) == (TARGET, 1)
    assert created.body == {"owner": "wf-1", "holders": ["a"]}
    assert created.updated_at.tzinfo == UTC
    assert before - timedelta(seconds=1) <= created.updated_at <= datetime.now(UTC)
    assert await store.get(TARGET) == created

    assert await store.put(TARGET, {"owner": "wf-2"}, expect_version=0) is None
    assert await store.get(TARGET) == created


async def test_versions_increment_and_a_stale_put_changes_nothing(holdings: Holdings) -> None:
    store = holdings.store
    first = await store.put(TARGET, {"n": 1}, expect_version=0)
    assert first is not None
    second = await store.put(TARGET, {"n": 2}, expect_version=first.version)
    assert second is not None
    third = await store.put(TARGET, {"n": 3, "nested": {"b": [1, 2.5, None]}}, expect_version=2)
    assert third is not None
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert third.updated_at >= second.updated_at >= first.updated_at

    for stale in (1, 2, 4):
        assert await store.put(TARGET, {"n": "lost"}, expect_version=stale) is None
    assert await store.get(TARGET) == third
    assert third.body == {"n": 3, "nested": {"b": [1, 2.5, None]}}


async def test_delete_needs_the_current_version(holdings: Holdings) -> None:
    store = holdings.store
    assert await store.delete(TARGET, expect_version=1) is False  # absent
    await store.put(TARGET, {"n": 1}, expect_version=0)
    current = await store.put(TARGET, {"n": 2}, expect_version=1)
    assert current is not None

    assert await store.delete(TARGET, expect_version=1) is False
    assert await store.delete(TARGET, expect_version=0) is False
    assert await store.get(TARGET) == current
    assert await store.delete(TARGET, expect_version=2) is True
    assert await store.get(TARGET) is None
    assert await store.delete(TARGET, expect_version=2) is False


async def test_a_gone_holding_cannot_be_replaced_but_can_be_created_again(
    holdings: Holdings,
) -> None:
    store = holdings.store
    assert await store.get(TARGET) is None
    assert await store.put(TARGET, {"n": 1}, expect_version=1) is None
    assert await store.get(TARGET) is None
    created = await store.put(TARGET, {"n": 1}, expect_version=0)
    assert created is not None
    assert await store.delete(TARGET, expect_version=1)
    again = await store.put(TARGET, {"n": "again"}, expect_version=0)
    assert again is not None
    assert (again.version, again.body) == (1, {"n": "again"})


async def test_all_is_ordered_by_target(holdings: Holdings) -> None:
    store = holdings.store
    assert await store.all() == []
    targets = ["flag:b", "deploy:z", "flag:B", "flag:a:rule:2", "flag:a:rule:10", "flag:é", "x"]
    for n, target in enumerate(targets):
        await store.put(target, {"n": n}, expect_version=0)
    await store.put("x", {"n": "x2"}, expect_version=1)

    listed = await store.all()
    assert [h.target for h in listed] == sorted(targets)
    assert listed == [await store.get(t) for t in sorted(targets)]
    assert {h.target: h.version for h in listed}["x"] == 2


async def test_named_tables_are_apart_and_old_records_expire(holdings: Holdings) -> None:
    """The safety ledger and the seen-signature cache use the same store under their own
    tables: a record in one is not in another, and ``expire`` sweeps only old ones."""
    other = open_holding_store(holdings.url, table="seen_things")
    holdings.others.append(other)
    await holdings.store.put(TARGET, {"n": 1}, expect_version=0)
    await other.put("old", {"n": 2}, expect_version=0)
    assert await other.get(TARGET) is None
    assert [h.target for h in await holdings.store.all()] == [TARGET]
    assert {"holdings", "seen_things"} <= await holdings.tables()

    cutoff = datetime.now(UTC) + timedelta(seconds=1)
    await asyncio.sleep(1.2)
    await other.put("new", {"n": 3}, expect_version=0)
    assert await other.expire(cutoff) == 1
    assert [h.target for h in await other.all()] == ["new"]
    assert await holdings.store.get(TARGET) is not None, "another table is never swept"
    with pytest.raises(ConfigError):
        open_holding_store(holdings.url, table="x; DROP TABLE holdings")


async def test_two_workers_racing_increments_lose_no_update(holdings: Holdings) -> None:
    stores = [holdings.store, holdings.open_another()]  # two connections, as two worker hosts
    losses = 0

    async def increment(store: HoldingStore, me: int) -> None:
        nonlocal losses
        for _ in range(500):
            current = await store.get("counter")
            count: int = current.body["count"] if current else 0
            writers: list[int] = current.body["writers"] if current else []
            body = {"count": count + 1, "writers": [*writers, me]}
            if await store.put("counter", body, expect_version=current.version if current else 0):
                return
            losses += 1
            await asyncio.sleep(0)
        raise AssertionError(f"writer {me} never won a swap")

    await asyncio.gather(*(increment(stores[n % 2], n) for n in range(20)))

    for store in stores:
        final = await store.get("counter")
        assert final is not None
        assert final.body["count"] == 20
        assert final.version == 20
        assert sorted(final.body["writers"]) == list(range(20))
    assert losses > 0  # the race really happened: every loser retried and nothing was lost


async def test_holdings_live_in_the_audit_database_beside_the_history(
    holdings: Holdings,
) -> None:
    await holdings.store.put(TARGET, {"n": 1}, expect_version=0)
    audit = open_audit_store(holdings.url)
    try:
        await audit.append(event(1))
        assert (await audit.verify()).ok
    finally:
        await audit.close()
    assert {"holdings", "audit_events"} <= await holdings.tables()
    other = holdings.open_another()
    stored = await other.get(TARGET)
    assert stored is not None
    assert stored.body == {"n": 1}


async def test_bad_arguments_are_refused_before_touching_the_database(
    holdings: Holdings,
) -> None:
    store = holdings.store
    for target in ("", "t" * (MAX_TARGET_CHARS + 1)):
        with pytest.raises(ValueError, match="target"):
            await store.get(target)
        with pytest.raises(ValueError, match="target"):
            await store.put(target, {}, expect_version=0)
    with pytest.raises(ValueError, match="expect_version"):
        await store.put(TARGET, {}, expect_version=-1)
    with pytest.raises(ValueError, match="expect_version"):
        await store.delete(TARGET, expect_version=-1)
    with pytest.raises(ValueError, match="JSON"):
        await store.put(TARGET, {"x": float("nan")}, expect_version=0)
    with pytest.raises(ValueError, match="JSON"):
        await store.put(TARGET, {"x": object()}, expect_version=0)
    not_a_dict: Any = ["a"]
    with pytest.raises(ValueError, match="JSON object"):
        await store.put(TARGET, not_a_dict, expect_version=0)
    long_target = "t" * MAX_TARGET_CHARS
    assert await store.put(long_target, {}, expect_version=0) is not None
    assert await store.all() == [await store.get(long_target)]


async def test_a_closed_store_refuses_every_call(holdings: Holdings) -> None:
    await holdings.store.put(TARGET, {}, expect_version=0)
    await holdings.store.close()
    with pytest.raises(AuditError, match="closed"):
        await holdings.store.get(TARGET)
    with pytest.raises(AuditError, match="closed"):
        await holdings.store.put(TARGET, {}, expect_version=1)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://auditor:{PASSWORD}@127.0.0.1:1/test?connect_timeout=2",
        pytest.param(
            f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/no_such_database_here",
            marks=pytest.mark.postgres,
        ),
    ],
)
async def test_a_wrong_postgres_dsn_is_an_audit_error_without_the_password(url: str) -> None:
    store = open_holding_store(url)
    try:
        with pytest.raises(AuditError) as caught:
            await store.put(TARGET, {"n": 1}, expect_version=0)
        assert "connect failed" in str(caught.value)
        assert PASSWORD not in _everything_said(caught.value)
        with pytest.raises(AuditError) as again:
            await store.all()
        assert PASSWORD not in _everything_said(again.value)
    finally:
        await store.close()


def test_urls_open_the_backend_of_the_audit_store(tmp_path: Path) -> None:
    sqlite_store = open_holding_store(f"sqlite:///{tmp_path}/audit.db")
    assert isinstance(sqlite_store, SqliteHoldingStore)
    assert repr(sqlite_store) == f"SqliteHoldingStore('{tmp_path}/audit.db', table='holdings')"
    for scheme in ("postgresql", "postgres"):
        pg = open_holding_store(f"{scheme}://auditor:{PASSWORD}@db/audit?schema=audit_x")
        assert isinstance(pg, PostgresHoldingStore)
        assert repr(pg) == "PostgresHoldingStore(schema='audit_x', table='holdings')"
        assert PASSWORD not in repr(vars(pg)) + repr(vars(vars(pg)["_db"]))
    for bad in (
        "",
        f"mysql://auditor:{PASSWORD}@db/audit",
        f"postgresql://auditor:{PASSWORD}@db/audit?schema=bad-name;drop",
    ):
        with pytest.raises(ConfigError) as caught:
            open_holding_store(bad)
        assert PASSWORD not in _everything_said(caught.value)
