"""The benchmark's bulk loader writes the chain appends would have written, on both backends."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.audit_history import history, load_postgres, load_sqlite, plan, sealed
from orchestrator.audit.factory import split_schema, sqlite_path
from orchestrator.audit.raw import event_line
from orchestrator.audit.sqlite_store import SqliteAuditStore
from orchestrator.audit.store import AuditStore
from tests.audit.conftest import Backend


async def _rows(store: AuditStore, n: int) -> list[Sequence[Any]]:
    return await store.event_rows(limit=n + 1)


async def test_bulk_loading_gives_the_chain_of_one_by_one_appends(
    backend: Backend, tmp_path: Path
) -> None:
    incidents = plan(400, 12, seed=3)
    events = list(history(incidents, seed=3))
    assert len(events) == 400 and len({e.incident_id for e, _ in events}) == 12
    recorded: Iterator[datetime] = iter([at for _, at in events])
    appended = SqliteAuditStore(tmp_path / "appended.db", clock=lambda: next(recorded))
    try:
        for event, _ in events:
            await appended.append(event)
        expected = await _rows(appended, 400)
    finally:
        await appended.close()

    await backend.store.events(limit=1)  # the store creates its schema
    stored = sealed(iter(events))
    if backend.sqlite_path is not None:
        written = load_sqlite(Path(sqlite_path(backend.url)), stored, lambda _: None, batch=150)
    else:
        dsn, schema = split_schema(backend.url)
        written = load_postgres(dsn, schema, stored, lambda _: None, batch=150)
    assert written == 400
    report = await backend.store.verify()
    assert (report.ok, report.checked) == (True, 400)
    loaded = await _rows(backend.store, 400)
    if backend.sqlite_path is not None:
        assert loaded == expected  # the same bytes, column by column
    assert [event_line(r) for r in loaded] == [event_line(r) for r in expected]
    assert report.head_hash == expected[-1][13]


def test_the_history_is_the_same_for_the_same_seed() -> None:
    first = [(e.event_key, e.data, at) for e, at in history(plan(200, 5, seed=9), seed=9)]
    again = [(e.event_key, e.data, at) for e, at in history(plan(200, 5, seed=9), seed=9)]
    assert first == again
    kinds = {e.kind.value for e, _ in history(plan(2000, 20, seed=9), seed=9)}
    assert {"signal_received", "incident_opened", "severity_classified", "effect_applied"} <= kinds
    assert {"verification_passed", "incident_closed", "approval_granted"} <= kinds
