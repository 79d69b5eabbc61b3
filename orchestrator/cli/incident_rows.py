"""The rows of ``orchestrator incidents``: the audit store's incidents joined with Temporal
visibility's open ones (their live phase and playbook; open incidents with no audit record yet,
as the audit waits for the first mitigation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.audit.model import IncidentState, IncidentSummary
from orchestrator.audit.query import EventFilter
from orchestrator.audit.stats import key_of
from orchestrator.client.queries import IncidentRow

COLUMNS = (
    "incident_id",
    "service",
    "slo",
    "severity",
    "state",
    "phase",
    "playbook",
    "first_at",
    "last_at",
    "events",
)


@dataclass(frozen=True)
class IncidentListing:
    """What ``incidents`` was asked for, as typed."""

    service: str | None = None
    slo: str | None = None
    severity: str | None = None
    state: str | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 50


def merge(
    audited: Sequence[IncidentSummary],
    live: Sequence[IncidentRow],
    flt: EventFilter,
    state: IncidentState | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Open incidents Temporal has and the audit does not (newest first), then the audit's, each
    with Temporal's live columns when it is running there; at most ``limit``."""
    running = {r.incident_id: r for r in live if r.running}
    known = {s.incident_id for s in audited}
    fresh = [r for r in running.values() if r.incident_id not in known and _matches(r, flt, state)]
    rows = [_fresh(r) for r in sorted(fresh, key=lambda r: r.started, reverse=True)]
    rows += [_audited(s, running.get(s.incident_id)) for s in audited]
    return rows[:limit]


def _matches(row: IncidentRow, flt: EventFilter, state: IncidentState | None) -> bool:
    started = datetime.fromisoformat(row.started)
    return (
        state in (None, IncidentState.OPEN)
        and (flt.service is None or row.service == flt.service)
        and (flt.slo is None or row.slo == flt.slo)
        and (flt.severity is None or row.severity == flt.severity.value)
        and (flt.until is None or started < flt.until)
    )


def _fresh(row: IncidentRow) -> dict[str, Any]:
    return {
        "incident_id": row.incident_id,
        "key": row.key,
        "service": row.service,
        "slo": row.slo,
        "severity": row.severity,
        "state": IncidentState.OPEN.value,
        "phase": row.state,
        "playbook": row.playbook,
        "first_at": row.started,
        "last_at": None,
        "events": 0,
        "running": True,
    }


def _audited(summary: IncidentSummary, live: IncidentRow | None) -> dict[str, Any]:
    return {
        "incident_id": summary.incident_id,
        "key": key_of(summary.incident_id),
        "service": summary.service,
        "slo": summary.slo,
        "severity": summary.severity or (live.severity if live else None),
        "state": summary.state.value,
        "phase": live.state if live else None,
        "playbook": live.playbook if live else None,
        "first_at": summary.first_at.isoformat(),
        "last_at": summary.last_at.isoformat(),
        "events": summary.events,
        "running": live is not None,
    }
