"""The incident report: a first draft of the post-incident review, built from the audit history.

``build_report(events, objectives)`` turns one occurrence's stored events (``store.timeline``)
into an :class:`~orchestrator.audit.report_model.IncidentReport`; ``report_render`` writes it as
Markdown or one self-contained HTML file. ``objectives`` (SLO name -> what it promises, from the
catalog) fills in the objective when a signal does not carry one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.audit.model import LIFECYCLE_KINDS, AuditKind, IncidentState, StoredEvent
from orchestrator.audit.model import canonical_json as _json
from orchestrator.audit.report_changes import approvals, changes, cut
from orchestrator.audit.report_figures import (
    detected_at,
    format_duration,
    measures,
    parse_time,
    phases,
)
from orchestrator.audit.report_model import (
    IncidentReport,
    Objective,
    RawSignal,
    RcaTask,
    RubricRow,
    SeverityDecision,
    SignalRow,
    TimelineRow,
    VerificationRow,
)
from orchestrator.errors import NotFoundError

RISK_POINTS = {"high": 2, "medium": 1, "low": 0}


def build_report(
    events: Sequence[StoredEvent], objectives: Mapping[str, Objective] | None = None
) -> IncidentReport:
    if not events:
        raise NotFoundError("no audit events for this incident")
    first = events[0]
    state = IncidentState.OPEN
    for event in events:
        state = LIFECYCLE_KINDS.get(event.kind, state)
    severities = tuple(_severity(e) for e in events if e.kind is AuditKind.SEVERITY_CLASSIFIED)
    playbooks = tuple(
        dict.fromkeys(
            str(e.data["playbook"])
            for e in events
            if e.kind is AuditKind.PLAYBOOK_SELECTED and e.data.get("playbook")
        )
    )
    objective = (objectives or {}).get(first.slo)
    report = IncidentReport(
        incident_id=first.incident_id,
        service=first.service,
        slo=first.slo,
        state=state.value,
        opened_at=first.at,
        last_at=events[-1].at,
        severity=severities[-1].severity if severities else "unclassified",
        playbooks=playbooks,
        summary="",
        severities=severities,
        signals=tuple(_signal(e, objective) for e in events if e.kind is AuditKind.SIGNAL_RECEIVED),
        timeline=_timeline(events),
        changes=changes(events),
        approvals=approvals(events),
        verifications=tuple(
            VerificationRow(
                seq=e.seq,
                at=e.at,
                step=str(e.data.get("step", "")),
                passed=e.kind is AuditKind.VERIFICATION_PASSED,
                detail=cut(e.summary),
            )
            for e in events
            if e.kind in (AuditKind.VERIFICATION_PASSED, AuditKind.VERIFICATION_FAILED)
        ),
        measures=measures(events),
        rca=tuple(_rca(e, events) for e in events if e.data.get("action") == "rca.open_review"),
        phases=phases(events),
        raw_signals=tuple(
            RawSignal(seq=e.seq, at=e.at, body=json.dumps(e.data, indent=2, sort_keys=True))
            for e in events
            if e.kind is AuditKind.SIGNAL_RECEIVED
        ),
        first_seq=first.seq,
        last_seq=events[-1].seq,
        events=len(events),
    )
    return report.model_copy(update={"summary": _summary(report)})


def _summary(report: IncidentReport) -> str:
    firing = [s for s in report.signals if s.status == "firing"]
    segment = next((s.segment for s in firing if s.segment != "-"), "")
    who = f"users in segment {segment}" if segment else "all users"
    mitigate = next(m for m in report.measures if m.name == "Time to mitigate")
    applied = [c for c in report.changes if not c.undo and c.outcome == "applied"]
    books = ", ".join(report.playbooks) or "no playbook"
    return (
        f"{report.severity} incident on {report.service} / {report.slo}, affecting {who};"
        f" {len(firing)} firing signal(s); playbook {books}; {len(applied)} change(s) applied,"
        f" the first after {mitigate.shown}; {len(report.verifications)} verification(s);"
        f" now {report.state}."
    )


def _severity(event: StoredEvent) -> SeverityDecision:
    d = event.data
    deviation = d.get("deviation")
    shown_dev = f"{deviation * 100:.0f}% past objective" if isinstance(deviation, float) else "?"
    risk = str(d.get("risk_tier", "?"))
    scope = str(d.get("scope", "?"))
    reversible = d.get("reversible")
    rows = (
        RubricRow(factor="burn tier", value=str(d.get("burn_tier", "?")), points=None),
        RubricRow(
            factor="deviation tier",
            value=f"{d.get('deviation_tier', '?')} ({shown_dev})",
            points=None,
        ),
        RubricRow(
            factor="impact (worse of the two tiers)",
            value=str(d.get("impact", "?")),
            points=_int(d.get("impact")),
        ),
        RubricRow(factor="risk tier of the journey", value=risk, points=RISK_POINTS.get(risk)),
        RubricRow(factor="scope", value=scope, points=0 if scope == "segment" else 1),
        RubricRow(
            factor="reversibility",
            value="reversible" if reversible else "not reversible",
            points=0 if reversible else 1,
        ),
        RubricRow(factor="score", value=str(d.get("score", "?")), points=_int(d.get("score"))),
    )
    return SeverityDecision(
        at=event.at,
        severity=str(d.get("severity", "?")),
        score=_int(d.get("score")),
        explanation=cut(str(d.get("explanation", event.summary))),
        rows=rows,
    )


def _signal(event: StoredEvent, objective: Objective | None) -> SignalRow:
    d = event.data
    segment = d.get("segment")
    if isinstance(segment, Mapping):
        segment = f"{segment.get('key')}={segment.get('value')}"
    if d.get("objective") is not None:
        shown_objective = cut(str(d["objective"]))
    elif objective is not None:
        unit = f" {objective.unit}" if objective.unit else ""
        window = f" over {objective.window}" if objective.window else ""
        shown_objective = f"{objective.comparison} {objective.objective:g}{unit}{window} (catalog)"
    else:
        shown_objective = "-"
    burn = d.get("burn_rate")
    return SignalRow(
        at=event.at,
        status=cut(str(d.get("status", "?"))),
        source=cut(event.actor),
        segment=cut(str(segment)) if segment else "-",
        observed=cut(str(d["observed"])) if d.get("observed") is not None else "-",
        objective=shown_objective,
        burn_rate=f"{burn:g}x" if isinstance(burn, int | float) else "-",
        started_at=parse_time(d.get("started_at")),
    )


def _timeline(events: Sequence[StoredEvent]) -> tuple[TimelineRow, ...]:
    start = detected_at(events)
    return tuple(
        TimelineRow(
            seq=e.seq,
            at=e.at,
            offset=("+" if e.at >= start else "") + format_duration((e.at - start).total_seconds()),
            kind=e.kind.value,
            actor=cut(e.actor),
            summary=cut(e.summary),
        )
        for e in events
    )


def _rca(event: StoredEvent, events: Sequence[StoredEvent]) -> RcaTask:
    d = event.data
    evidence = d.get("evidence") if isinstance(d.get("evidence"), Mapping) else {}
    assert isinstance(evidence, Mapping)
    ticket = str(d.get("ticket", "-"))
    closes = [
        e
        for e in events
        if e.data.get("action") == "rca.close_review" and e.data.get("ticket") == ticket
    ]
    closed = (
        f"{closes[0].at:%Y-%m-%d %H:%M} UTC by {closes[0].actor}:"
        f" {closes[0].data.get('resolution', '')}"
        if closes
        else "open"
    )
    return RcaTask(
        ticket=cut(ticket),
        status=cut(closed, 1000),
        owner=cut(str(d.get("owner", "-"))),
        deadline=cut(str(d.get("deadline", "-"))),
        verification=cut(str(d.get("verification", "-")), 1000),
        summary=cut(event.summary),
        evidence=tuple((cut(str(k)), cut(_json(v), 1000)) for k, v in evidence.items()),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
