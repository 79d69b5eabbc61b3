"""The evidence an incident review (RCA task) starts from, gathered from the incident. Pure.

Playbook C of the article: once service is stable, find the cause (stale data, a prompt change, an
index update...) and end with an owner, a deadline and a verification method. The review opens
with what the incident already knows: the signals, the versions before and after each pin, the
flags changed, the freezes set, and the severities and playbooks it went through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.domain.catalog import Service
from orchestrator.domain.policy_effects import EffectRecord
from orchestrator.domain.signals import BreachSignal

MAX_SIGNALS = 20
"""The newest signals kept in the evidence (the audit history has every one)."""


def _signal(signal: BreachSignal) -> dict[str, Any]:
    at = signal.started_at or signal.received_at
    return {
        "status": signal.status.value,
        "source": signal.source,
        "segment": str(signal.segment) if signal.segment else None,
        "observed": signal.observed,
        "objective": signal.objective,
        "burn_rate": signal.burn_rate,
        "at": at.isoformat() if at else None,
    }


def _versions(effects: Sequence[EffectRecord]) -> list[dict[str, Any]]:
    return [
        {
            "component": e.result.get("component"),
            "before": e.result.get("version_before"),
            "after": e.result.get("version_after"),
            "step": e.step_id,
            "undone": e.undone,
        }
        for e in effects
        if e.action == "deploy.pin_version"
    ]


def _flags(effects: Sequence[EffectRecord]) -> list[dict[str, Any]]:
    return [
        {
            "flag": e.result.get("flag"),
            "before": e.result.get("before"),
            "after": e.result.get("after"),
            "step": e.step_id,
            "temporary": e.temporary,
            "undone": e.undone,
        }
        for e in effects
        if e.action.startswith("flag.")
    ]


def review_evidence(
    *,
    service: Service,
    slo: str,
    signals: Sequence[BreachSignal],
    effects: Sequence[EffectRecord],
    severities: Sequence[str],
    playbooks: Sequence[str],
) -> dict[str, Any]:
    """Everything the review starts from, as JSON-ready data (small enough for an audit event)."""
    return {
        "service": service.name,
        "slo": slo,
        "severities": list(severities),
        "playbooks": list(playbooks),
        "signals": [_signal(s) for s in list(signals)[-MAX_SIGNALS:]],
        "signals_total": len(signals),
        "versions_catalog": {
            name: {"current": v.current, "known_good": v.known_good}
            for name, v in sorted(service.versions.items())
        },
        "versions_changed": _versions(effects),
        "flags_changed": _flags(effects),
        "freezes": [
            {"component": e.result.get("component"), "until": e.result.get("until")}
            for e in effects
            if e.action == "release.freeze"
        ],
    }
