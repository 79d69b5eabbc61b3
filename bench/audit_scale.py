"""The audit store at scale: a million events across ten thousand incidents, SQLite and PostgreSQL.

Run: .venv/bin/python -m bench.audit_scale --backend sqlite|postgres|both
         --events 1000000 --incidents 10000 [--samples 300] [--regenerate]

Generates a realistic history (bench/audit_history.py) into a SQLite file (kept under .bench/ and
reused by later runs with the same arguments; --regenerate rebuilds it) and into a fresh
PostgreSQL database on 127.0.0.1:5432 (dropped afterwards), then measures on each: the timeline
of random incidents (p50/p95/p99), the 30-day filtered query and stats, full chain verification
against raw SHA-256 over the same bytes in the same run, and `orchestrator audit export` /
`audit verify` as real processes (time, peak RSS). docs/BENCHMARKS.md records a run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench import audit_measure as measure
from bench.audit_history import END, history, load_postgres, load_sqlite, plan, sealed
from bench.audit_queries import query_figures
from bench.audit_tables import tables
from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.postgres_store import PostgresAuditStore
from orchestrator.audit.sqlite_store import SqliteAuditStore

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
PG_ADMIN = os.environ.get(
    "AUDIT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SCHEMA = "bench"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def progress_printer(total: int, what: str) -> Callable[[int], None]:
    start = time.perf_counter()
    shown = [0]

    def show(written: int) -> None:
        if written - shown[0] >= max(total // 20, 1) or written == total:
            rate = written / max(time.perf_counter() - start, 1e-9)
            say(f"  {what}: {written:,}/{total:,} events ({rate:,.0f}/s)")
            shown[0] = written

    return show


def _cached(path: Path, fresh: bool) -> bool:
    """True when an earlier run left ``path`` complete; else clear the way to rebuild it."""
    if path.exists() and not fresh:
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (
        path,
        partial,
        *(partial.with_name(partial.name + s) for s in ("-wal", "-shm")),
    ):
        leftover.unlink(missing_ok=True)
    return False


async def sqlite_history(events: int, incidents: int, seed: int, folder: Path, fresh: bool) -> Path:
    """The SQLite store of this history, generated unless an earlier run left it in ``folder``."""
    path = folder / f"audit-{events}-{incidents}-{seed}.db"
    if _cached(path, fresh):
        say(f"sqlite: reusing {path} (--regenerate to rebuild)")
        return path
    partial = path.with_name(path.name + ".partial")
    store = SqliteAuditStore(partial)
    await store.events(limit=1)  # creates the schema
    await store.close()
    stored = sealed(history(plan(events, incidents, seed), seed))
    load_sqlite(partial, stored, progress_printer(events, "sqlite"), batch=20_000)
    partial.replace(path)  # complete: later runs may reuse it
    return path


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped afterwards whatever happens."""
    name = f"audit_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def postgres_history(dsn: str, events: int, incidents: int, seed: int) -> None:
    store = PostgresAuditStore(dsn, schema=SCHEMA)
    await store.events(limit=1)  # creates the schema, table, indexes and triggers
    await store.close()
    stored = sealed(history(plan(events, incidents, seed), seed))
    load_postgres(dsn, SCHEMA, stored, progress_printer(events, "postgres"), batch=50_000)


async def measure_store(
    url: str, events: int, incidents: int, samples: int, seed: int, workdir: Path
) -> dict[str, Any]:
    planned = plan(events, incidents, seed)
    ids = [incident.incident_id for incident in planned]
    store = open_audit_store(url)
    try:
        await store.events(limit=1)  # opening: an older file gets its indexes now, not timed
        say("  timeline ...")
        figures: dict[str, Any] = {"timeline": await measure.timeline(store, ids, samples, seed)}
        say("  30-day query and stats ...")
        figures.update(await query_figures(store, planned, END, samples, seed))
        say("  chain verification and raw SHA-256 ...")
        figures["chain"] = await measure.chain(store, events)
        [last] = await store.event_rows(since_seq=events - 1, limit=1)
        await measure.write_digest(url, store, (int(last[0]), str(last[13])))
    finally:
        await store.close()
    say("  orchestrator audit export / verify ...")
    figures.update(measure.export_and_verify(url, workdir, events))
    return figures


async def run_backend(
    backend: str,
    events: int,
    incidents: int,
    *,
    samples: int,
    seed: int,
    workdir: Path,
    cache: Path,
    regenerate: bool = False,
) -> dict[str, Any]:
    """Generate (or reuse) the history on ``backend`` and measure it."""
    say(f"{backend}: {events:,} events, {incidents:,} incidents")
    start = time.perf_counter()
    if backend == "sqlite":
        path = await sqlite_history(events, incidents, seed, cache, regenerate)
        prepared = time.perf_counter() - start
        figures = await measure_store(
            f"sqlite:///{path}", events, incidents, samples, seed, workdir
        )
        return {"backend": backend, "prepare_s": prepared, **figures}
    with fresh_database() as dsn:
        await postgres_history(dsn, events, incidents, seed)
        prepared = time.perf_counter() - start
        url = f"{dsn}?schema={SCHEMA}"
        figures = await measure_store(url, events, incidents, samples, seed, workdir)
        return {"backend": backend, "prepare_s": prepared, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=300, help="timelines and queries timed")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached SQLite file")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    load = os.getloadavg()
    results: list[dict[str, Any]] = []
    for backend in backends:
        workdir = CACHE / f"work-{backend}"
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(
            run_backend(
                backend,
                args.events,
                args.incidents,
                samples=args.samples,
                seed=args.seed,
                workdir=workdir,
                cache=CACHE,
                regenerate=args.regenerate,
            )
        )
        results.append(result)
    report = {
        "events": args.events,
        "incidents": args.incidents,
        "load_before": load,
        "load_after": os.getloadavg(),
        "python": sys.version.split()[0],
        "results": results,
    }
    out = CACHE / f"audit-scale-{args.backend}-{args.events}-{args.incidents}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    say(f"figures saved to {out}\n\n{tables(report)}")


if __name__ == "__main__":
    main()
