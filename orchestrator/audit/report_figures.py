"""The report's figures: time to detect, mitigate, verify, recover and resolve; the phases drawn
on the timeline. Pure functions over stored events (workflow time, ``at``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from orchestrator.audit.model import AuditKind, StoredEvent, as_utc
from orchestrator.audit.report_model import Measure, Phase

CHANGE_PREFIXES = ("flag.", "deploy.", "release.")
"""Actions whose effect changes what users get or what may ship: the mitigating changes."""
CHANGE_ACTIONS_EXCLUDED = frozenset({"flag.verify_segment"})


def is_change(event: StoredEvent) -> bool:
    """An applied (or found in place) effect of a changing action, undos included."""
    if event.kind not in (AuditKind.EFFECT_APPLIED, AuditKind.EFFECT_SKIPPED):
        return False
    action = str(event.data.get("action", ""))
    return action.startswith(CHANGE_PREFIXES) and action not in CHANGE_ACTIONS_EXCLUDED


def is_mitigation(event: StoredEvent) -> bool:
    return (
        event.kind is AuditKind.EFFECT_APPLIED and is_change(event) and not event.data.get("undo")
    )


def format_duration(seconds: float) -> str:
    """``90 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``, ``3 d 04 h``."""
    if seconds < 0:
        return f"-{format_duration(-seconds)}"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600:02d} h"


def clock(at: datetime) -> str:
    at = as_utc(at)
    return at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d} UTC"


def _firing(events: Sequence[StoredEvent]) -> list[StoredEvent]:
    return [
        e
        for e in events
        if e.kind is AuditKind.SIGNAL_RECEIVED and e.data.get("status", "firing") == "firing"
    ]


def breach_start(events: Sequence[StoredEvent]) -> datetime | None:
    """When monitoring says the breach began: the earliest ``started_at`` of a firing signal."""
    starts = [parse_time(e.data.get("started_at")) for e in _firing(events)]
    known = [s for s in starts if s is not None]
    return min(known) if known else None


def detected_at(events: Sequence[StoredEvent]) -> datetime:
    """The first firing signal's arrival (the incident's first event when there is none)."""
    firing = _firing(events)
    return (firing[0] if firing else events[0]).at


def _first(events: Sequence[StoredEvent], after: datetime, test: Any) -> StoredEvent | None:
    return next((e for e in events if e.at >= after and test(e)), None)


def measures(events: Sequence[StoredEvent]) -> tuple[Measure, ...]:
    detected = detected_at(events)
    start = breach_start(events)
    mitigated = _first(events, detected, is_mitigation)
    verified = _first(
        events,
        mitigated.at if mitigated else detected,
        lambda e: mitigated is not None and e.kind is AuditKind.VERIFICATION_PASSED,
    )
    recovered = _first(
        events,
        detected,
        lambda e: e.kind is AuditKind.SIGNAL_RECEIVED and e.data.get("status") == "resolved",
    )
    resolved = _first(events, detected, lambda e: e.kind is AuditKind.INCIDENT_RESOLVED)
    since = f"first firing signal {clock(detected)}"

    def measure(name: str, end: StoredEvent | None, what: str) -> Measure:
        if end is None:
            return Measure(name=name, seconds=None, shown="not reached", start=since, end=what)
        seconds = (end.at - detected).total_seconds()
        label = f"{what} {clock(end.at)} (#{end.seq})"
        return Measure(
            name=name, seconds=seconds, shown=format_duration(seconds), start=since, end=label
        )

    if start is None:
        detect = Measure(
            name="Time to detect",
            seconds=None,
            shown="unknown",
            start="the signal did not say when the breach began",
            end=f"first firing signal {clock(detected)}",
        )
    else:
        seconds = (detected - start).total_seconds()
        detect = Measure(
            name="Time to detect",
            seconds=seconds,
            shown=format_duration(seconds),
            start=f"breach began {clock(start)} (monitoring's startsAt)",
            end=f"first firing signal {clock(detected)}",
        )
    step = str(mitigated.data.get("step", "")) if mitigated else ""
    return (
        detect,
        measure("Time to mitigate", mitigated, f"first change applied ({step})"),
        measure("Time to verify", verified, "first verification passed after it"),
        measure("Time to recover", recovered, "resolved signal (the SLO recovered)"),
        measure("Time to resolve", resolved, "incident resolved"),
    )


def phases(events: Sequence[StoredEvent]) -> tuple[Phase, ...]:
    """Detection (when the breach start is known), mitigating (detection to the last change),
    monitoring (to the recovery signal), hold-down (to the end), and each approval wait."""
    detected = detected_at(events)
    last = events[-1].at
    out: list[Phase] = []
    start = breach_start(events)
    if start is not None and start < detected:
        out.append(Phase(name="breach before detection", start=start, end=detected))
    changes = [e for e in events if is_mitigation(e)]
    mitigated_until = changes[-1].at if changes else detected
    out.append(Phase(name="mitigating", start=detected, end=mitigated_until))
    recovered = _first(
        events,
        detected,
        lambda e: e.kind is AuditKind.SIGNAL_RECEIVED and e.data.get("status") == "resolved",
    )
    monitor_end = recovered.at if recovered else last
    if monitor_end > mitigated_until:
        out.append(Phase(name="monitoring", start=mitigated_until, end=monitor_end))
    if recovered is not None and last > recovered.at:
        out.append(Phase(name="recovered, holding down", start=recovered.at, end=last))
    for event in events:
        if event.kind is AuditKind.APPROVAL_REQUESTED:
            step = event.data.get("step_id")
            decided = _first(
                events,
                event.at,
                lambda e, s=step: (
                    e.kind in (AuditKind.APPROVAL_GRANTED, AuditKind.APPROVAL_DENIED)
                    and e.data.get("step") == s
                ),
            )
            end = decided.at if decided else last
            out.append(Phase(name=f"awaiting approval: {step}", start=event.at, end=end))
    return tuple(out)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return as_utc(parsed) if parsed.tzinfo else None
