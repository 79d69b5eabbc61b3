"""A realistic audit history for the scale benchmark, written in bulk with the stores' own code.

Incidents are spread over 90 days across services, SLOs, segments and severities; each records
what the incident workflow records (signals, opened, severity, playbook, steps with their effects,
approvals and verifications, resolution, closing), re-fired signals filling it to its share of the
events. Incidents overlap in time and their events are merged in time order, as one store sees
them. Everything is derived from the seed: the same arguments give the same chain, byte for byte.

Events are sealed one after the other with :func:`orchestrator.audit.chain.seal` (the function an
append uses) and inserted with the stores' own row functions, many per transaction: the chain is
the one appends would have built (tests/bench checks this), only written faster.
"""

from __future__ import annotations

import heapq
import itertools
import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orchestrator.audit import postgres_store, sqlite_store
from orchestrator.audit.chain import GENESIS_HASH, seal
from orchestrator.audit.model import AuditEvent, AuditKind, StoredEvent

END = datetime(2026, 12, 1, tzinfo=UTC)
"""The history ends here (fixed, so the same arguments give the same history)."""
DAYS = 90
SERVICES = {
    "support-assistant": ["task-success", "answer-latency", "fairness-gap", "availability"],
    "payments-assistant": ["task-success", "answer-latency", "refusal-rate"],
    "onboarding-guide": ["task-success", "fairness-gap", "availability"],
    "claims-triage": ["routing-accuracy", "answer-latency", "availability"],
    "voice-agent": ["transcription-accuracy", "answer-latency", "fairness-gap"],
    "search-answers": ["groundedness", "answer-latency"],
    "dispute-helper": ["task-success", "fairness-gap"],
    "kyc-checker": ["false-reject-rate", "availability"],
}
SEGMENTS = ["language=es", "language=fr", "language=de", "language=pt", "region=eu", "tier=pro"]
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
_SEVERITY_WEIGHTS = [5, 20, 45, 30]
_STEPS = [
    ("route-to-human", "support-assistant-answer-mode", "assistant", "human-queue"),
    ("pin-known-good-model", "model-version", "current", "known-good"),
    ("reduce-context", "context-size", "full", "reduced"),
    ("lower-handoff-threshold", "handoff-threshold", "standard", "lowered"),
    ("freeze-deploys", "deploy-freeze", "off", "on"),
]
PROGRESS_EVERY = 50_000


@dataclass(frozen=True)
class Incident:
    incident_id: str
    service: str
    slo: str
    segment: str | None
    severity: str
    start: datetime
    events: int


def plan(events: int, incidents: int, seed: int = 14) -> list[Incident]:
    """The incidents, by start time, with their share of ``events`` (at least 8 each)."""
    if incidents < 1 or events < 8 * incidents:
        raise ValueError("need at least one incident and 8 events per incident")
    rng = random.Random(seed)
    counts = [events // incidents] * incidents
    counts[0] += events - sum(counts)
    for i in range(0, incidents - 1, 2):  # spread sizes, keep the total and the minimum
        shift = rng.randint(0, max(0, min(counts[i], counts[i + 1]) - 8))
        counts[i], counts[i + 1] = counts[i] - shift, counts[i + 1] + shift
    starts = sorted(
        END - timedelta(days=DAYS) + timedelta(seconds=rng.uniform(0, DAYS * 86_400 - 86_400))
        for _ in range(incidents)
    )
    out: list[Incident] = []
    for n, (start, count) in enumerate(zip(starts, counts, strict=True)):
        service = rng.choice(list(SERVICES))
        slo = rng.choice(SERVICES[service])
        segment = rng.choice([*SEGMENTS, None, None])
        stamp = start.strftime("%Y%m%d-%H%M%S")
        key = f"incident-{service}--{slo}" + (f"--{segment.replace('=', '-')}" if segment else "")
        severity = rng.choices(SEVERITIES, _SEVERITY_WEIGHTS)[0]
        out.append(Incident(f"{key}--{stamp}-{n}", service, slo, segment, severity, start, count))
    return out


def _core(inc: Incident, rng: random.Random) -> list[tuple[AuditKind, str, dict[str, Any], str]]:
    """(kind, summary, data, actor) of what the workflow records, in order."""
    sev, seg = inc.severity, inc.segment
    out: list[tuple[AuditKind, str, dict[str, Any], str]] = [
        (AuditKind.INCIDENT_OPENED, f"{inc.slo} of {inc.service} breached", {"segment": seg}, "o"),
        (
            AuditKind.SEVERITY_CLASSIFIED,
            f"{sev}: objective missed by {rng.uniform(1, 30):.1f} %",
            {"severity": sev, "burn_rate": round(rng.uniform(1, 40), 2), "segment": seg},
            "o",
        ),
        (
            AuditKind.PLAYBOOK_SELECTED,
            f"playbook {inc.slo}-mitigation for {sev}",
            {"playbook": f"{inc.slo}-mitigation", "severity": sev},
            "o",
        ),
    ]
    for step, flag, before, after in rng.sample(_STEPS, rng.randint(1, 3)):
        change = {"step": step, "flag": flag, "segment": seg, "before": before, "after": after}
        out.append((AuditKind.STEP_STARTED, f"step {step} started", {"step": step}, "o"))
        if sev in ("SEV1", "SEV2") and step == "freeze-deploys":
            out.append((AuditKind.APPROVAL_REQUESTED, f"approval for {step}", {"step": step}, "o"))
            out.append((AuditKind.APPROVAL_GRANTED, f"{step} approved", {"step": step}, "alice"))
        out.append((AuditKind.EFFECT_APPLIED, f"{flag}: {before} -> {after}", change, "o"))
        passed = rng.random() > 0.05
        kind = AuditKind.VERIFICATION_PASSED if passed else AuditKind.VERIFICATION_FAILED
        out.append((kind, f"{flag} serves {after if passed else before}", change, "o"))
    end = rng.choices(
        [AuditKind.INCIDENT_RESOLVED, AuditKind.ESCALATED, AuditKind.INCIDENT_ABORTED], [90, 7, 3]
    )[0]
    out.append((end, f"{inc.incident_id} {end.value}", {"severity": sev}, "o"))
    out.append((AuditKind.INCIDENT_CLOSED, "closed after the hold-down", {}, "o"))
    return out


def _signal(inc: Incident, rng: random.Random, status: str, at: datetime) -> dict[str, Any]:
    return {
        "source": "alertmanager",
        "status": status,
        "service": inc.service,
        "slo": inc.slo,
        "segment": inc.segment,
        "observed": round(rng.uniform(0.5, 0.99), 4),
        "dedupe_key": f"{rng.getrandbits(64):016x}",
        "started_at": at.isoformat(),
    }


def incident_events(inc: Incident, seed: int) -> Iterator[AuditEvent]:
    """One incident's events in time order: the first signal, the core (opened first, the end
    last) and re-fired signals between, ``inc.events`` in all."""
    rng = random.Random(f"{seed}/{inc.incident_id}")
    core = _core(inc, rng)
    slots = inc.events - 1
    if slots < len(core):  # a small incident keeps its opening and its end
        core = core[: slots - 2] + core[-2:]
    middle = sorted(rng.sample(range(1, slots - 2), len(core) - 3))
    placed = dict(zip([0, *middle, slots - 2, slots - 1], core, strict=True))
    span = timedelta(minutes=rng.uniform(10, 480))
    times = sorted(inc.start + span * rng.random() for _ in range(slots))
    run = f"run-{rng.getrandbits(48):012x}"
    first = _signal(inc, rng, "firing", inc.start)
    yield _event(inc, run, 0, AuditKind.SIGNAL_RECEIVED, "firing signal", first, inc.start, "am")
    for n, at in enumerate(times, 1):
        if n - 1 in placed:
            kind, summary, data, actor = placed[n - 1]
            yield _event(inc, run, n, kind, summary, data, at, actor)
        else:
            data = _signal(inc, rng, "firing", at)
            yield _event(inc, run, n, AuditKind.SIGNAL_RECEIVED, "fired again", data, at, "am")


def _event(
    inc: Incident,
    run: str,
    n: int,
    kind: AuditKind,
    summary: str,
    data: dict[str, Any],
    at: datetime,
    actor: str,
) -> AuditEvent:
    return AuditEvent(
        event_key=f"{inc.incident_id}/{run}/{n:04d}-{kind.value}",
        incident_id=inc.incident_id,
        run_id=run,
        kind=kind,
        at=at,
        actor={"o": "orchestrator", "am": "alertmanager"}.get(actor, actor),
        service=inc.service,
        slo=inc.slo,
        summary=summary,
        data=data,
    )


def history(incidents: list[Incident], seed: int = 14) -> Iterator[tuple[AuditEvent, datetime]]:
    """Every incident's events merged in time order, each with the store's ``recorded_at``
    (a few milliseconds later, never going back)."""
    heap: list[tuple[datetime, int, AuditEvent, Iterator[AuditEvent]]] = []
    order = itertools.count()
    pending = iter(incidents)
    upcoming = next(pending, None)
    recorded = END - timedelta(days=DAYS + 1)
    lag = random.Random(seed)
    while heap or upcoming is not None:
        while upcoming is not None and (not heap or upcoming.start <= heap[0][0]):
            events = incident_events(upcoming, seed)
            first = next(events)
            heapq.heappush(heap, (first.at, next(order), first, events))
            upcoming = next(pending, None)
        at, _, event, rest = heapq.heappop(heap)
        later = next(rest, None)
        if later is not None:
            heapq.heappush(heap, (later.at, next(order), later, rest))
        recorded = max(recorded + timedelta(microseconds=1), at + timedelta(seconds=lag.random()))
        yield event, recorded


def sealed(events: Iterator[tuple[AuditEvent, datetime]]) -> Iterator[StoredEvent]:
    """The events chained from genesis, as appends chain them."""
    prev = GENESIS_HASH
    for seq, (event, recorded_at) in enumerate(events, 1):
        stored = seal(event, seq=seq, prev_hash=prev, recorded_at=recorded_at)
        prev = stored.hash
        yield stored


Progress = Callable[[int], None]


def load_sqlite(path: Path, stored: Iterator[StoredEvent], progress: Progress, batch: int) -> int:
    """Insert into an initialised SQLite store (:data:`sqlite_store.INSERT`), ``batch`` a
    transaction; the number of events written."""
    conn = sqlite3.connect(path, isolation_level=None)
    written = 0
    try:
        while chunk := [sqlite_store.row_values(s) for s in itertools.islice(stored, batch)]:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sqlite_store.INSERT, chunk)
            conn.execute("COMMIT")
            written += len(chunk)
            progress(written)
    finally:
        conn.close()
    return written


def load_postgres(
    dsn: str, schema: str, stored: Iterator[StoredEvent], progress: Progress, batch: int
) -> int:
    """COPY into an initialised PostgreSQL store (:func:`postgres_store.row_values`), ``batch``
    a transaction; then VACUUM (ANALYZE), as autovacuum does to a table that only grows
    (PostgreSQL 13+: ``autovacuum_vacuum_insert_threshold``), which sets the visibility map an
    index-only scan needs. The number of events written."""
    table = sql.Identifier(schema, "audit_events")
    copy = sql.SQL(
        "COPY {} (seq, event_key, incident_id, run_id, kind, at, actor, service, slo, summary,"
        " data, recorded_at, prev_hash, hash) FROM STDIN"
    ).format(table)
    written = 0
    with psycopg.connect(dsn) as conn:
        while chunk := list(itertools.islice(stored, batch)):
            with conn.cursor() as cur, cur.copy(copy) as out:
                for event in chunk:
                    out.write_row(postgres_store.row_values(event))
            conn.commit()
            written += len(chunk)
            progress(written)
        conn.autocommit = True
        conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
    return written
