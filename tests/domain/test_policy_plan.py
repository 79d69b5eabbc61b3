"""The dry run and the review evidence, from the shipped catalog and playbooks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.config.playbook_files import load_library
from orchestrator.domain.catalog import parse_catalog
from orchestrator.domain.policy_effects import EffectRecord
from orchestrator.domain.policy_evidence import MAX_SIGNALS, review_evidence
from orchestrator.domain.policy_plan import FAST_TRACK_LABEL, is_fast_track, plan_incident
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus

ROOT = Path(__file__).resolve().parents[2]
CATALOG = parse_catalog((ROOT / "catalog" / "catalog.yaml").read_text(), "catalog.yaml")
LIBRARY = load_library(ROOT / "playbooks")


def signal(**changes: object) -> BreachSignal:
    fields: dict[str, object] = {
        "service": "support-assistant",
        "slo": "language-gap",
        "dimension": "fairness",
        "segment": Segment(key="language", value="es"),
        "observed": 7.4,
        "burn_rate": 9.2,
    }
    return BreachSignal.model_validate({**fields, **changes})


def test_plan_of_the_worked_example() -> None:
    plan = plan_incident(signal(), CATALOG, LIBRARY, workflow_id_prefix="prod")
    assert plan.incident_id == "prod-support-assistant--language-gap"
    assert plan.severity is not None and plan.severity.severity == "SEV2"
    assert plan.playbook == "fairness-language-gap"
    runs = {s.id: s for s in plan.steps if s.runs}
    assert list(runs) == [
        "route-segment-to-humans",
        "verify-segment",
        "rollback-prompt",
        "freeze-prompt-releases",
        "open-fairness-review",
        "wait-for-recovery",
    ]
    assert runs["route-segment-to-humans"].args == {
        "flag": "support-assistant-answer-mode",
        "attribute": "language",
        "values": ["es"],
        "variation": "human-queue",
        "context_kind": "user",
    }
    assert runs["route-segment-to-humans"].temporary
    assert runs["rollback-prompt"].approval is None  # SEV2: no approval


@pytest.mark.parametrize(
    ("changes", "playbook", "note"),
    [
        ({"status": SignalStatus.RESOLVED}, None, "a resolved signal starts nothing"),
        ({"observed": 2.9, "burn_rate": 0.5}, "minor-breach-review", "dry run"),
        ({"actor": "maria", "playbook": "rollback-and-freeze"}, "rollback-and-freeze", "dry run"),
    ],
)
def test_plan_variants(changes: dict[str, object], playbook: str | None, note: str) -> None:
    plan = plan_incident(signal(**changes), CATALOG, LIBRARY)
    assert plan.playbook == playbook
    assert plan.note.startswith(note)


def test_plan_under_the_kill_switch_runs_no_destructive_step() -> None:
    plan = plan_incident(signal(), CATALOG, LIBRARY, kill_switch=True)
    destructive = [s for s in plan.steps if s.destructive]
    assert destructive and all(not s.runs for s in destructive)
    assert {s.decision for s in destructive} == {"refuse"}
    assert {s.skip_reason for s in destructive} == {
        "kill switch on (plan input): notify-only: not run"
    }
    assert any(s.runs for s in plan.steps if s.action == "rca.open_review")


def test_fast_track_needs_a_person_and_the_label() -> None:
    labels = {FAST_TRACK_LABEL: "true"}
    assert is_fast_track(signal(actor="maria", labels=labels))
    assert not is_fast_track(signal(labels=labels))  # automation cannot fast-track
    assert not is_fast_track(signal(actor="maria"))


def test_review_evidence_is_bounded_and_names_what_changed() -> None:
    at = datetime(2026, 11, 26, tzinfo=UTC)
    signals = [signal(started_at=at) for _ in range(MAX_SIGNALS + 5)]
    effects = [
        EffectRecord(
            key="k1",
            playbook="p",
            step_id="rollback",
            action="deploy.pin_version",
            summary="s",
            result={"component": "prompt", "version_before": "v42", "version_after": "v41"},
        ),
        EffectRecord(
            key="k2",
            playbook="p",
            step_id="route",
            action="flag.route_segment",
            summary="s",
            temporary=True,
            result={"flag": "f", "before": {"rules": []}, "after": {"rules": [1]}},
        ),
    ]
    service = CATALOG.service("support-assistant")
    evidence = review_evidence(
        service=service,
        slo="language-gap",
        signals=signals,
        effects=effects,
        severities=["SEV2", "SEV1"],
        playbooks=["fairness-language-gap"],
    )
    assert len(evidence["signals"]) == MAX_SIGNALS and evidence["signals_total"] == 25
    assert evidence["signals"][0]["segment"] == "language=es"
    assert evidence["versions_changed"] == [
        {
            "component": "prompt",
            "before": "v42",
            "after": "v41",
            "step": "rollback",
            "undone": False,
        }
    ]
    assert evidence["flags_changed"][0]["temporary"] is True
    assert evidence["versions_catalog"]["prompt"]["known_good"] == "answer-prompt-v41"
    assert evidence["severities"] == ["SEV2", "SEV1"]
