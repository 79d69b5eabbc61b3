"""Integrity under pressure: separate processes appending at once, triggers, and tampering."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

import pytest

from orchestrator.audit.chain import event_hash, hash_fields
from tests.audit.conftest import Backend, RawRefusedError
from tests.audit.factories import event

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("append_worker.py")


async def _run_workers(url: str, tmp_path: Path, processes: int, count: int) -> list[list[int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    go = tmp_path / "go"
    readies = [tmp_path / f"ready-{i}" for i in range(processes)]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            url,
            f"proc-{i}",
            str(count),
            str(readies[i]),
            str(go),
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(processes)
    ]
    try:
        async with asyncio.timeout(60):
            while not all(r.exists() for r in readies):
                if any(p.returncode is not None for p in procs):
                    break
                await asyncio.sleep(0.01)
            go.touch()
            outputs = [await p.communicate() for p in procs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err.decode()
    return [json.loads(out) for out, _ in outputs]


async def test_appends_from_several_processes_keep_one_chain(
    backend: Backend, tmp_path: Path
) -> None:
    await backend.store.append(event(0, incident="parent"))  # the store exists before the race
    processes, count = 3, 25
    seqs = await _run_workers(backend.url, tmp_path, processes, count)

    stored = await backend.store.events()
    assert len(stored) == 1 + processes * count + 1  # one "shared/once" across all processes
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    all_seqs = [s for per_process in seqs for s in per_process]
    shared = [e for e in stored if e.event_key == "shared/once"]
    assert len(shared) == 1
    assert all_seqs.count(shared[0].seq) == processes  # every process got the same event back
    report = await backend.store.verify()
    assert report.ok, report
    assert report.checked == len(stored)


async def test_processes_racing_on_a_brand_new_store(tmp_path: Path) -> None:
    """SQLite: nobody has created the file yet when three processes start appending."""
    url = f"sqlite:///{tmp_path / 'fresh' / 'audit.db'}"
    await _run_workers(url, tmp_path, 3, 10)
    from orchestrator.audit.factory import open_audit_store

    store = open_audit_store(url)
    try:
        report = await store.verify()
        assert report.ok, report
        assert report.checked == 31
    finally:
        await store.close()


async def test_update_and_delete_are_refused(backend: Backend) -> None:
    for n in range(3):
        await backend.store.append(event(n))
    with pytest.raises(RawRefusedError, match="append-only"):
        await backend.raw("UPDATE {table} SET summary = 'rewritten' WHERE seq = 2")
    with pytest.raises(RawRefusedError, match="append-only"):
        await backend.raw("DELETE FROM {table} WHERE seq = 3")
    assert [e.summary for e in await backend.store.timeline("inc-1")] == [
        "event 0 of inc-1",
        "event 1 of inc-1",
        "event 2 of inc-1",
    ]
    if backend.name == "postgres":
        with pytest.raises(RawRefusedError, match="append-only"):
            await backend.raw("TRUNCATE {table}")
    assert (await backend.store.verify()).ok


async def test_an_edited_event_is_the_first_bad_seq(backend: Backend) -> None:
    for n in range(5):
        await backend.store.append(event(n))
    await backend.disable_guards()
    await backend.raw("UPDATE {table} SET summary = 'nothing happened' WHERE seq = 3")

    report = await backend.store.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.checked == 2
    assert "altered" in (report.problem or "")


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(backend: Backend) -> None:
    stored = [await backend.store.append(event(n)) for n in range(4)]
    forged = stored[1].model_copy(update={"data": {"n": 99}})
    digest = event_hash(forged.prev_hash, hash_fields(forged, forged.seq, forged.recorded_at))
    await backend.disable_guards()
    await backend.raw(
        "UPDATE {table} SET data = '{\"n\":99}', hash = '" + digest + "' WHERE seq = 2"
    )

    assert (await backend.store.events())[1].data == {"n": 99}
    report = await backend.store.verify()
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 3, 2)
    assert "prev_hash" in (report.problem or "")


async def test_a_deleted_event_is_found(backend: Backend) -> None:
    for n in range(5):
        await backend.store.append(event(n))
    await backend.disable_guards()
    await backend.raw("DELETE FROM {table} WHERE seq = 2")

    report = await backend.store.verify()
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 3, 1)
    assert "missing" in (report.problem or "")


async def test_a_row_that_no_longer_parses_is_reported_not_raised(backend: Backend) -> None:
    for n in range(3):
        await backend.store.append(event(n))
    await backend.disable_guards()
    await backend.raw("UPDATE {table} SET kind = 'nothing_to_see' WHERE seq = 2")

    report = await backend.store.verify()
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 2, 1)
    assert "does not parse" in (report.problem or "")


async def test_cancelled_appends_leave_the_store_usable(backend: Backend) -> None:
    """Activity timeouts cancel appends at any point; the retries must still land exactly once."""
    for n in range(20):
        task = asyncio.create_task(backend.store.append(event(n)))
        for _ in range(n % 5):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for n in range(20):
        await backend.store.append(event(n))

    stored = await backend.store.events()
    assert sorted(e.event_key for e in stored) == sorted(event(n).event_key for n in range(20))
    report = await backend.store.verify()
    assert (report.ok, report.checked) == (True, 20)
