"""Breach signals for the worked example's SLOs, as monitoring or on-call would send them."""

from __future__ import annotations

from orchestrator.domain.policy_plan import FAST_TRACK_LABEL
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus

DIMENSIONS = {
    "task-success": "accuracy",
    "ttft-p95": "latency",
    "final-answer-p95": "latency",
    "language-gap": "fairness",
    "escalation-success": "reliability",
}
SPANISH = "language=es"


def breach(
    slo: str,
    *,
    segment: str | None = None,
    observed: float | None = None,
    burn: float | None = None,
    resolved: bool = False,
    **extra: object,
) -> BreachSignal:
    return BreachSignal.model_validate(
        {
            "service": "support-assistant",
            "slo": slo,
            "dimension": DIMENSIONS[slo],
            "segment": Segment.parse(segment) if segment else None,
            "observed": observed,
            "burn_rate": burn,
            "status": SignalStatus.RESOLVED if resolved else SignalStatus.FIRING,
            "source": "test",
            **extra,
        }
    )


def recovered(slo: str) -> BreachSignal:
    return breach(slo, resolved=True)


def launched(
    playbook: str,
    slo: str,
    *,
    by: str = "maria.oncall",
    reason: str = "on-call judgement",
    fast_track: bool = False,
    labels: dict[str, str] | None = None,
    **fields: object,
) -> BreachSignal:
    all_labels = dict(labels or {})
    if fast_track:
        all_labels[FAST_TRACK_LABEL] = "true"
    return breach(slo, actor=by, playbook=playbook, reason=reason, labels=all_labels, **fields)
