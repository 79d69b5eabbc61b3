"""Plain-text views of the audit history for the CLI and post-incident reviews (times in UTC)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from orchestrator.audit.model import (
    AuditKind,
    IncidentSummary,
    StoredEvent,
    as_utc,
    canonical_json,
)

KIND_WIDTH = max(len(kind.value) for kind in AuditKind)
FACT_INDENT = " " * (len("HH:MM:SS.mmm") + 2)
MAX_VALUE_CHARS = 120
MAX_SUMMARY_CHARS = 240
MAX_CHANGED_FIELDS = 5
FACT_KINDS = frozenset(
    {
        AuditKind.EFFECT_APPLIED,
        AuditKind.EFFECT_SKIPPED,
        AuditKind.VERIFICATION_PASSED,
        AuditKind.VERIFICATION_FAILED,
        AuditKind.STEP_FAILED,
        AuditKind.STEP_SKIPPED,
        AuditKind.APPROVAL_GRANTED,
        AuditKind.APPROVAL_DENIED,
        AuditKind.ESCALATED,
    }
)
"""Kinds whose key facts (what changed, for whom, why) are printed under the event line."""
SUBJECT_KEYS = ("flag", "target", "key", "model", "prompt")
"""The first of these names what a before -> after change was made to."""
FACT_KEYS = (
    "flag",
    "segment",
    "variation",
    "from_version",
    "to_version",
    "version",
    "provider",
    "served",
    "control_served",
    "approver",
    "ticket",
    "reason",
    "error",
)


def format_timeline(events: Sequence[StoredEvent]) -> str:
    """One line per event, ``HH:MM:SS.mmm  kind  summary  [#seq]`` (UTC), with the key facts of
    effects and verifications indented beneath, and a ``-- YYYY-MM-DD --`` line when the day
    changes within the timeline."""
    lines: list[str] = []
    day: str | None = None
    for event in events:
        at = as_utc(event.at)
        if day is not None and at.date().isoformat() != day:
            lines.append(f"-- {at.date().isoformat()} (UTC) --")
        day = at.date().isoformat()
        clock = at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"
        summary = _clean(event.summary, MAX_SUMMARY_CHARS) or "-"
        lines.append(f"{clock}  {event.kind.value:<{KIND_WIDTH}}  {summary}  [#{event.seq}]")
        if event.kind in FACT_KINDS:
            lines.extend(FACT_INDENT + fact for fact in key_facts(event.data))
    return "\n".join(lines)


def key_facts(data: Mapping[str, Any]) -> list[str]:
    """The facts worth a line: what changed (``subject: before -> after``, version and changed
    fields of a changed object), then the well-known keys."""
    facts: list[str] = []
    subject_key = next((k for k in SUBJECT_KEYS if k in data), None)
    subject = _value(data[subject_key]) if subject_key else "value"
    used = {subject_key} if subject_key else set()
    if "version_before" in data or "version_after" in data:
        old, new = _value(data.get("version_before")), _value(data.get("version_after"))
        facts.append(f"{subject}: version {old} -> {new}")
        used.update({"version_before", "version_after"})
    if "before" in data or "after" in data:
        facts.extend(_changes(subject, data.get("before"), data.get("after")))
        used.update({"before", "after"})
    instructions = data.get("instructions")
    if isinstance(instructions, list | tuple) and instructions:
        kinds = [str(i.get("kind", "?")) if isinstance(i, Mapping) else "?" for i in instructions]
        facts.append(f"instructions: {_clean(', '.join(kinds))}")
    for key in FACT_KEYS:
        if key in data and key not in used:
            facts.append(f"{key}: {_value(data[key])}")
    return facts


def _changes(subject: str, before: Any, after: Any) -> list[str]:
    if not (isinstance(before, Mapping) and isinstance(after, Mapping)):
        return [f"{subject}: {_value(before)} -> {_value(after)}"]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    lines = [
        f"  {_clean(str(k))}: {_value(before.get(k), 40)} -> {_value(after.get(k), 40)}"
        for k in changed[:MAX_CHANGED_FIELDS]
    ]
    if len(changed) > MAX_CHANGED_FIELDS:
        lines.append(f"  ... and {len(changed) - MAX_CHANGED_FIELDS} more changed fields")
    return [f"{subject}: {len(changed)} field(s) changed", *lines] if changed else []


def format_incidents(summaries: Sequence[IncidentSummary]) -> str:
    """A fixed-width table, most recently active first as the store returns them."""
    if not summaries:
        return "no incidents"
    header = (
        "INCIDENT",
        "SERVICE",
        "SLO",
        "SEVERITY",
        "STATE",
        "EVENTS",
        "FIRST (UTC)",
        "LAST (UTC)",
        "LAST KIND",
    )
    rows = [header] + [
        (
            _clean(s.incident_id),
            _clean(s.service) or "-",
            _clean(s.slo) or "-",
            _clean(s.severity or "-"),
            s.state.value,
            str(s.events),
            _stamp(s.first_at),
            _stamp(s.last_at),
            s.last_kind.value,
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.rjust(width) if i == 5 and n else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for n, row in enumerate(rows)
    )


def _stamp(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _value(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    return _clean(text, limit)


def _clean(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """One printable line: control characters escaped (a summary cannot forge timeline lines),
    long values cut."""
    cleaned = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    return cleaned
