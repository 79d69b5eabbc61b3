"""The 30-day filtered query and stats of the audit scale benchmark (bench/audit_scale.py), through
the store's ``query()`` and ``orchestrator.audit.stats.incident_stats``."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from bench.audit_history import SERVICES, SEVERITIES, Incident
from bench.audit_measure import Figures, percentiles
from orchestrator.audit.query import EventFilter, Severity
from orchestrator.audit.stats import incident_stats
from orchestrator.audit.store import AuditStore

FULL_PAGE = 1000


async def _timed(call: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await call
    return (time.perf_counter() - start) * 1000, result


async def query_figures(
    store: AuditStore, incidents: list[Incident], now: datetime, samples: int, seed: int
) -> Figures:
    """First page (100) of service + severity + the last 30 days, for random pairs; every page
    of the busiest pair; stats of one service over 30 days, and of every service."""
    since = now - timedelta(days=30)
    recent = Counter((i.service, i.severity) for i in incidents if i.start >= since)
    (busy_service, busy_severity), _ = recent.most_common(1)[0]
    rng = random.Random(seed)
    pairs = [(service, severity) for service in SERVICES for severity in SEVERITIES]
    firsts: list[float] = []
    sizes: list[int] = []
    for service, severity in (rng.choice(pairs) for _ in range(samples)):
        flt = EventFilter(service=service, severity=Severity(severity), since=since)
        took, page = await _timed(store.query(flt, limit=100))
        firsts.append(took)
        sizes.append(len(page))
    busiest = EventFilter(service=busy_service, severity=Severity(busy_severity), since=since)
    start, count, cursor = time.perf_counter(), 0, 0
    while page := await store.query(busiest, limit=FULL_PAGE, after_seq=cursor):
        count += len(page)
        cursor = page[-1].seq
        if len(page) < FULL_PAGE:
            break
    every_page_s = time.perf_counter() - start
    per_service: list[float] = []
    for service in (rng.choice(list(SERVICES)) for _ in range(max(3, samples // 20))):
        took, _ = await _timed(incident_stats(store, EventFilter(service=service, since=since)))
        per_service.append(took)
    took_all, stats = await _timed(incident_stats(store, EventFilter(since=since)))
    return {
        "query_first": {**percentiles(firsts), "events_per_call": statistics.mean(sizes)},
        "query_all": {
            "events": count,
            "pair": f"{busy_service}, {busy_severity}",
            "pages": -(-count // FULL_PAGE),
            "s": every_page_s,
        },
        "stats": {**percentiles(per_service), "scope": "one service, 30 days"},
        "stats_all": {"s": took_all / 1000, "events": stats.events, "incidents": stats.incidents},
    }
