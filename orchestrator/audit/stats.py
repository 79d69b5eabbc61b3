"""Incident statistics over the audit history: what ``orchestrator stats`` and
``GET /v1/audit/stats`` answer.

:func:`incident_stats` reads the events an :class:`~orchestrator.audit.query.EventFilter` matches,
page by page (``store.query``), keeps a compact copy of each occurrence's events, and computes:
counts by service, SLO, segment and severity; the median and p90 of time to mitigate and to
recover (the report's own definition, :func:`~orchestrator.audit.report_figures.measures`); per
playbook how often it reached recovery and how often without a human; per step how often it
failed or waited for approval; and the incident keys that recurred.

Figures are over the events the filter matches: with ``since``, an incident that began before it
is measured from its first event inside the window.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import timedelta

from pydantic import BaseModel, ConfigDict

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.audit.query import EventFilter
from orchestrator.audit.report_figures import detected_at, measures
from orchestrator.audit.store import AuditStore

PAGE = 1000
HUMAN_KINDS = frozenset(
    {
        AuditKind.APPROVAL_GRANTED,
        AuditKind.APPROVAL_DENIED,
        AuditKind.MANUAL_LAUNCH,
        AuditKind.ESCALATED,
        AuditKind.SAFETY_CHANGED,
    }
)
"""Events that show a person took part: a decision, a launch by hand, an escalation to people,
the kill switch (a page sent by a ``page.oncall`` step counts too)."""
SIGNAL_KEYS = ("status", "started_at", "segment")
"""What the figures read of a signal; its labels (up to 16 KB) are not kept."""
NONE = "(none)"
UNCLASSIFIED = "unclassified"


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Durations(_Row):
    """Seconds over the incidents that reached the point (``n`` of them); None when none did.
    Median of the middle two when ``n`` is even; p90 by nearest rank (the ``ceil(0.9 n)``-th
    smallest)."""

    n: int
    median_seconds: float | None
    p90_seconds: float | None


class PlaybookRow(_Row):
    playbook: str
    incidents: int
    recovered: int
    recovered_without_human: int


class StepRow(_Row):
    playbook: str
    step: str
    incidents: int
    """Occurrences in which the step left any event."""
    failed: int
    waited: int
    """Times it waited for an approval."""


class KeyRow(_Row):
    key: str
    occurrences: int


class IncidentStats(_Row):
    events: int
    incidents: int
    by_service: dict[str, int]
    by_slo: dict[str, int]
    by_segment: dict[str, int]
    by_severity: dict[str, int]
    time_to_mitigate: Durations
    time_to_recover: Durations
    playbooks: tuple[PlaybookRow, ...]
    steps: tuple[StepRow, ...]
    recurring_keys: tuple[KeyRow, ...]
    """Keys with two or more occurrences, most first."""


def key_of(incident_id: str) -> str:
    """The incident key of an occurrence id (``<key>--<stamp>``; the key itself has one ``--``)."""
    return incident_id.rsplit("--", 1)[0] if incident_id.count("--") >= 2 else incident_id


def durations(values: Iterable[float]) -> Durations:
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Durations(n=0, median_seconds=None, p90_seconds=None)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Durations(n=n, median_seconds=median, p90_seconds=ordered[math.ceil(0.9 * n) - 1])


def _compact(event: StoredEvent) -> StoredEvent:
    if event.kind is not AuditKind.SIGNAL_RECEIVED:
        return event
    slim = {k: v for k, v in event.data.items() if k in SIGNAL_KEYS}
    return event.model_copy(update={"data": slim, "summary": ""})


async def incident_stats(store: AuditStore, flt: EventFilter) -> IncidentStats:
    """The statistics of the events ``flt`` matches (read in pages of :data:`PAGE`)."""
    by_incident: dict[str, list[StoredEvent]] = defaultdict(list)
    count, cursor = 0, 0
    while True:
        page = await store.query(flt, limit=PAGE, after_seq=cursor)
        for event in page:
            if event.kind is not AuditKind.NOTE:
                by_incident[event.incident_id].append(_compact(event))
        count += len(page)
        if len(page) < PAGE:
            break
        cursor = page[-1].seq
    return summarise(count, by_incident.values())


def summarise(events: int, incidents: Iterable[Sequence[StoredEvent]]) -> IncidentStats:
    """The statistics of occurrences given as their events in seq order (notes left out)."""
    tally: dict[str, Counter[str]] = {k: Counter() for k in ("service", "slo", "seg", "sev")}
    mitigate: list[float] = []
    recover: list[float] = []
    books: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    steps: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    keys: Counter[str] = Counter()
    total = 0
    for occurrence in incidents:
        total += 1
        first = occurrence[0]
        keys[key_of(first.incident_id)] += 1
        tally["service"][first.service] += 1
        tally["slo"][first.slo] += 1
        tally["seg"][_segment(occurrence)] += 1
        tally["sev"][_severity(occurrence)] += 1
        figures = {m.name: m.seconds for m in measures(occurrence)}
        mitigated, recovered = figures["Time to mitigate"], figures["Time to recover"]
        if mitigated is not None:
            mitigate.append(mitigated)
        if recovered is not None:
            recover.append(recovered)
        playbook = _playbook_at_end(occurrence)
        row = books[playbook]
        row[0] += 1
        if recovered is not None:
            row[1] += 1
            until = detected_at(occurrence) + timedelta(seconds=recovered)
            if not any(_human(e) for e in occurrence if e.at <= until):
                row[2] += 1
        _count_steps(occurrence, steps)
    return IncidentStats(
        events=events,
        incidents=total,
        by_service=_sorted(tally["service"]),
        by_slo=_sorted(tally["slo"]),
        by_segment=_sorted(tally["seg"]),
        by_severity=dict(sorted(tally["sev"].items())),
        time_to_mitigate=durations(mitigate),
        time_to_recover=durations(recover),
        playbooks=tuple(
            PlaybookRow(playbook=name, incidents=r[0], recovered=r[1], recovered_without_human=r[2])
            for name, r in sorted(books.items())
        ),
        steps=tuple(
            StepRow(playbook=book, step=step, incidents=r[0], failed=r[1], waited=r[2])
            for (book, step), r in sorted(steps.items())
        ),
        recurring_keys=tuple(
            KeyRow(key=key, occurrences=n)
            for key, n in sorted(keys.items(), key=lambda kv: (-kv[1], kv[0]))
            if n >= 2
        ),
    )


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _segment(events: Sequence[StoredEvent]) -> str:
    for event in events:
        seg = event.data.get("segment") if event.kind is AuditKind.SIGNAL_RECEIVED else None
        if isinstance(seg, dict) and seg.get("key") and seg.get("value"):
            return f"{seg['key']}={seg['value']}"
    return NONE


def _severity(events: Sequence[StoredEvent]) -> str:
    found = [
        str(e.data["severity"])
        for e in events
        if e.kind is AuditKind.SEVERITY_CLASSIFIED and e.data.get("severity")
    ]
    return found[-1] if found else UNCLASSIFIED


def _playbook_of(event: StoredEvent, current: str) -> str:
    if event.kind is AuditKind.PLAYBOOK_SELECTED and event.data.get("playbook"):
        return str(event.data["playbook"])
    if event.kind is AuditKind.ESCALATED and event.data.get("to"):
        return str(event.data["to"])
    return current


def _playbook_at_end(events: Sequence[StoredEvent]) -> str:
    current = NONE
    for event in events:
        current = _playbook_of(event, current)
    return current


def _human(event: StoredEvent) -> bool:
    return event.kind in HUMAN_KINDS or (
        event.kind is AuditKind.EFFECT_APPLIED and event.data.get("action") == "page.oncall"
    )


def _count_steps(events: Sequence[StoredEvent], steps: dict[tuple[str, str], list[int]]) -> None:
    current = NONE
    seen: set[tuple[str, str]] = set()
    for event in events:
        current = _playbook_of(event, current)
        step = event.data.get("step_id" if event.kind is AuditKind.APPROVAL_REQUESTED else "step")
        if not isinstance(step, str) or not step:
            continue
        row = steps[(current, step)]
        if (current, step) not in seen:
            seen.add((current, step))
            row[0] += 1
        if event.kind is AuditKind.STEP_FAILED:
            row[1] += 1
        elif event.kind is AuditKind.APPROVAL_REQUESTED:
            row[2] += 1
