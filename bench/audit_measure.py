"""The measurements of the audit scale benchmark, on one store (bench/audit_scale.py runs them).

Each returns figures in a plain dict. Times are wall clock (``time.perf_counter``); the export and
the live verification run as the real ``orchestrator audit`` commands in their own processes, so
their peak RSS (VmHWM, polled every 20 ms) is theirs alone.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.audit.chain import GENESIS_HASH, ChainVerifier
from orchestrator.audit.digests import DIGESTS_TABLE, write_digest_if_due
from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.model import iso_utc
from orchestrator.audit.rows import VERIFY_PAGE, validated_event
from orchestrator.audit.signing import HmacSigner
from orchestrator.audit.store import AuditStore
from orchestrator.secrets import Secret

BENCH_KEY = "audit-scale-bench-key-not-a-secret"
Figures = dict[str, Any]
_str = __import__("json").encoder.encode_basestring


def percentiles(samples_ms: list[float]) -> Figures:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "n": len(samples_ms),
        "p50_ms": statistics.median(samples_ms),
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
        "max_ms": max(samples_ms),
    }


async def timed_calls(
    call: Callable[[str], Awaitable[Any]], ids: list[str], warmup: int = 10
) -> Figures:
    """Percentiles of ``call(id)`` over ``ids`` (the first ``warmup`` calls not counted)."""
    for incident in ids[:warmup]:
        await call(incident)
    samples: list[float] = []
    sizes: list[int] = []
    for incident in ids[warmup:]:
        start = time.perf_counter()
        result = await call(incident)
        samples.append((time.perf_counter() - start) * 1000)
        sizes.append(len(result))
    return {**percentiles(samples), "events_per_call": statistics.mean(sizes)}


async def timeline(store: AuditStore, incident_ids: list[str], samples: int, seed: int) -> Figures:
    """``store.timeline()`` of random incidents (events parsed into models, as the API does):
    each read first (its pages likely not in any cache), then the same ones again."""
    ids = random.Random(seed).sample(incident_ids, min(samples, len(incident_ids)))
    first = await timed_calls(store.timeline, ids, warmup=0)
    return {**first, "again": await timed_calls(store.timeline, ids, warmup=0)}


async def _pages(store: AuditStore) -> Any:
    since = 0
    while rows := await store.event_rows(since_seq=since, limit=VERIFY_PAGE):
        yield rows
        since = rows[-1][0]


def _canonical_from_columns(row: Any) -> str:
    """The hashed text built from the columns as stored, the cheapest way (no checks): the
    strings JSON-escaped, ``data`` and SQLite's times taken as they are."""
    at, rec = row[5], row[11]
    return (
        f'{{"actor":{_str(row[6])},"at":"{at if type(at) is str else iso_utc(at)}",'
        f'"data":{row[10]},"event_key":{_str(row[1])},"incident_id":{_str(row[2])},'
        f'"kind":"{row[4]}","recorded_at":"{rec if type(rec) is str else iso_utc(rec)}",'
        f'"run_id":{_str(row[3])},"seq":{row[0]},"service":{_str(row[7])},'
        f'"slo":{_str(row[8])},"summary":{_str(row[9])}}}'
    )


async def chain(store: AuditStore, expected: int) -> Figures:
    """Full verification against raw SHA-256 over the same bytes, and the reads alone."""
    start = time.perf_counter()
    count = 0
    async for rows in _pages(store):
        count += len(rows)
    read_s = time.perf_counter() - start

    start = time.perf_counter()
    prev, matched, hashed_bytes = GENESIS_HASH, 0, 0
    async for rows in _pages(store):
        for row in rows:
            data = (prev + _canonical_from_columns(row)).encode()
            hashed_bytes += len(data)
            prev = hashlib.sha256(data).hexdigest()
            matched += prev == row[13]
    raw_s = time.perf_counter() - start

    start = time.perf_counter()
    report = await store.verify()
    verify_s = time.perf_counter() - start

    start = time.perf_counter()
    verifier = ChainVerifier()  # what verify() did before: validate each row into its model
    async for rows in _pages(store):
        for row in rows:
            verifier.feed(validated_event(row))
    models_s = time.perf_counter() - start
    if not (report.ok and report.checked == count == matched == expected):
        raise AssertionError(f"chain of {expected}: {report}, read {count}, matched {matched}")
    return {
        "events": count,
        "hashed_mb": hashed_bytes / 1e6,
        "read_s": read_s,
        "raw_sha256_s": raw_s,
        "verify_s": verify_s,
        "verify_models_s": models_s,
        "verify_events_per_s": count / verify_s,
        "ratio": raw_s / verify_s,
        "verifier_ok": verifier.report().ok,
    }


async def write_digest(url: str, store: AuditStore, head: tuple[int, str]) -> None:
    """One signed digest of the head, as the worker's job writes them (live verify needs it)."""
    holdings = open_holding_store(url, DIGESTS_TABLE)
    try:
        signer = HmacSigner(Secret(BENCH_KEY))
        now = datetime.now(UTC)
        await write_digest_if_due(
            store, holdings, signer, now=now, every=1000, interval=3600.0, head=head
        )
    finally:
        await holdings.close()


def command(url: str, workdir: Path, *args: str) -> Figures:
    """``orchestrator <args>`` in its own process: wall time, peak RSS, exit code."""
    env = {
        **os.environ,
        "ORCHESTRATOR_AUDIT_URL": url,
        "ORCHESTRATOR_AUDIT_SIGNING_KEY": BENCH_KEY,
        "ORCHESTRATOR_STATE_DIR": str(workdir / "state"),
    }
    exe = str(Path(sys.executable).parent / "orchestrator")
    said = workdir / "said.txt"
    peak_kb = 0
    with said.open("wb") as output:
        start = time.perf_counter()
        proc = subprocess.Popen([exe, *args], env=env, stdout=output, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - start
    last = said.read_text(errors="replace").strip().splitlines()[-1:] or [""]
    said.unlink()
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_kb / 1024,
        "code": proc.returncode,
        "said": last[0],
    }


def _high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM: of this program, not inherited from
    the fork that started it, as ``wait4``'s ru_maxrss would be)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def export_and_verify(url: str, workdir: Path, expected: int) -> Figures:
    """``audit export`` to a file, then ``audit verify`` of the live store (chain and digests)."""
    out = workdir / "export.jsonl"
    made = command(url, workdir, "audit", "export", "--out", str(out))
    size = out.stat().st_size if out.exists() else 0
    checked = command(url, workdir, "audit", "verify")
    out.unlink(missing_ok=True)
    words = str(made["said"]).split()
    records = int(words[1]) if words[:1] == ["exported"] and words[1].isdigit() else 0
    if made["code"] or checked["code"] or records <= expected:  # the events and the digests
        raise AssertionError(f"export {made}, verify {checked}")
    return {"export": {**made, "file_mb": size / 1e6}, "live_verify": checked}
