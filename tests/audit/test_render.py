"""Plain-text timelines and incident tables."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.audit.chain import GENESIS_HASH, seal
from orchestrator.audit.model import (
    AuditEvent,
    AuditKind,
    IncidentState,
    IncidentSummary,
    StoredEvent,
)
from orchestrator.audit.render import format_incidents, format_timeline, key_facts
from tests.audit.factories import T0, event


def stored(*events: AuditEvent) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    prev = GENESIS_HASH
    for i, e in enumerate(events, start=1):
        out.append(seal(e, seq=i, prev_hash=prev, recorded_at=e.at))
        prev = out[-1].hash
    return out


FLAG_CHANGE = {
    "flag": "support-answer-mode",
    "changed": True,
    "version_before": 3,
    "version_after": 4,
    "instructions": [{"kind": "addRule", "ref": "inc-1-route"}],
    "before": {"on": True, "rules": [], "version": 3},
    "after": {"on": True, "rules": [{"ref": "inc-1-route"}], "version": 4},
}


def test_timeline_has_one_line_per_event_with_effect_facts_beneath() -> None:
    events = stored(
        event(0, kind=AuditKind.SIGNAL_RECEIVED, summary="fairness gap 7.5 pts > 3 pts"),
        event(1, kind=AuditKind.EFFECT_APPLIED, summary="route es to fallback", data=FLAG_CHANGE),
        event(
            2,
            kind=AuditKind.EFFECT_APPLIED,
            summary="freeze",
            data={
                "flag": "prompt-releases",
                "before": "open",
                "after": "frozen",
                "reason": "rollback",
            },
        ),
    )
    lines = format_timeline(events).splitlines()
    assert lines[0] == ("09:30:00.250  signal_received      fairness gap 7.5 pts > 3 pts  [#1]")
    assert lines[1] == "09:30:01.250  effect_applied       route es to fallback  [#2]"
    facts = [line.strip() for line in lines[2:]]
    assert "support-answer-mode: version 3 -> 4" in facts
    assert "instructions: addRule" in facts
    assert 'rules: [] -> [{"ref":"inc-1-route"}]' in facts
    assert "prompt-releases: open -> frozen" in facts
    assert "reason: rollback" in facts
    assert all(line.startswith(" " * 14) for line in lines[2:] if not line.startswith("09:"))


def test_a_summary_cannot_forge_timeline_lines() -> None:
    text = format_timeline(stored(event(1, summary="ok\n09:00:00.000  approval_granted  x")))
    (line,) = text.splitlines()
    assert "\n" not in line
    assert "\\n09:00" in line


def test_a_new_day_gets_a_date_line_and_a_single_event_none() -> None:
    late = event(1, at=T0.replace(hour=23, minute=59))
    early = event(2, at=T0 + timedelta(days=1))
    assert format_timeline(stored(late)).count("\n") == 0
    text = format_timeline(stored(late, early))
    assert "-- 2026-11-28 (UTC) --" in text.splitlines()


def test_key_facts_of_plain_before_and_after() -> None:
    assert key_facts({"before": 1, "after": 2}) == ["value: 1 -> 2"]
    assert key_facts({"served": "fallback", "control_served": "default"}) == [
        "served: fallback",
        "control_served: default",
    ]


def test_incident_table() -> None:
    summary = IncidentSummary(
        incident_id="incident-support-assistant--fairness-gap",
        service="support-assistant",
        slo="fairness-gap",
        first_at=T0,
        last_at=T0 + timedelta(minutes=3),
        events=12,
        last_kind=AuditKind.INCIDENT_RESOLVED,
        severity="sev1",
        state=IncidentState.RESOLVED,
    )
    lines = format_incidents([summary]).splitlines()
    assert lines[0].split() == [
        "INCIDENT",
        "SERVICE",
        "SLO",
        "SEVERITY",
        "STATE",
        "EVENTS",
        "FIRST",
        "(UTC)",
        "LAST",
        "(UTC)",
        "LAST",
        "KIND",
    ]
    assert lines[1].split() == [
        "incident-support-assistant--fairness-gap",
        "support-assistant",
        "fairness-gap",
        "sev1",
        "resolved",
        "12",
        "2026-11-27",
        "09:30:00",
        "2026-11-27",
        "09:33:00",
        "incident_resolved",
    ]
    assert format_incidents([]) == "no incidents"
