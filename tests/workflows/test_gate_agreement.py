"""The dry run and the workflow make the same decision for every step of every shipped playbook.

Both ask the step gate (:mod:`orchestrator.domain.gate`): ``plan_incident`` (``orchestrator
playbooks plan``) answers what the gate asks with assumptions (a person approves, the breach keeps
firing, the circuit breaker is open or closed as told), the workflow answers it for real. This
module guards that the two callers give the gate the same facts: for each scenario (a signal, the
start-up kill switch, the circuit breaker) it plans the incident, runs it on the time-skipping
server (people approve what waits for approval, waits between mitigations time out, then the SLO
recovers) and compares the recorded gate verdicts (``IncidentState.steps[i].gate``) with the plan's
decisions, step id and decision at each position. A workflow that stops early must stop at a failed
step (a run-time failure the plan cannot foresee); the steps it waited on a person for must be the
ones the plan says wait for approval.

The matrix is not the full cross product: per playbook, each of kill switch on/off, breaker
open/closed (``max_actions: 0``: every automated destructive action refused), approval waited for
or not, and each step's ``when`` true and false occur at least once (checked by
:func:`test_the_matrix_exercises_every_input_of_every_playbook`, without Temporal).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

from orchestrator.client.launch import launch_signal
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.policy_plan import FAST_TRACK_LABEL, IncidentPlan
from orchestrator.domain.signals import BreachSignal, Segment
from tests.workflows.agreement_helpers import (
    CATALOG,
    CATALOG_PATH,
    LIBRARY,
    Scenario,
    disagreements,
    report,
    run_first_playbook,
)
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import SERVICE
from tests.workflows.signals import SPANISH, breach

LAUNCHER = "maria.oncall"
OPEN_BREAKER = "circuit_breaker:\n  default: {max_actions: 0, window_seconds: 3600}\n"
"""Safety limits under which the ledger refuses every automated destructive action."""


def manual(
    playbook: str,
    slo: str,
    *,
    segment: str | None = None,
    fast_track: bool = False,
    labels: dict[str, str] | None = None,
    **fields: object,
) -> BreachSignal:
    """An on-call launch of ``playbook``, as ``launch_signal`` builds it (plus measurements)."""
    signal = launch_signal(
        CATALOG,
        LIBRARY,
        playbook=playbook,
        service=SERVICE,
        slo=slo,
        segment=Segment.parse(segment) if segment else None,
        reason="on-call judgement",
        actor=LAUNCHER,
        source="test",
    )
    all_labels = {**(labels or {}), **({FAST_TRACK_LABEL: "true"} if fast_track else {})}
    return BreachSignal.model_validate({**signal.model_dump(), "labels": all_labels, **fields})


SCENARIOS = [
    # fairness-language-gap: SEV1 (everyone) asks approval of the rollback; SEV2 with a segment
    Scenario("fairness/segment-sev2", "fairness-language-gap",
             breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2)),
    Scenario("fairness/everyone-sev1-approved-breaker-open", "fairness-language-gap",
             breach("language-gap", observed=7.4, burn=16.0), breaker_open=True),
    Scenario("fairness/segment-sev2-kill-switch", "fairness-language-gap",
             breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2), kill_switch=True),
    # accuracy-task-success: everyone to humans is approved; the rollback too at SEV1
    Scenario("accuracy/segment-sev3", "accuracy-task-success",
             breach("task-success", segment=SPANISH, observed=0.874)),
    Scenario("accuracy/everyone-sev1-approved-breaker-open", "accuracy-task-success",
             breach("task-success", observed=0.80, burn=16.0), breaker_open=True),
    Scenario("accuracy/everyone-sev3-kill-switch", "accuracy-task-success",
             breach("task-success", observed=0.874), kill_switch=True),
    Scenario("accuracy/fast-track-sev1-breaker-open", "accuracy-task-success",
             manual("accuracy-task-success", "task-success", fast_track=True,
                    observed=0.80, burn_rate=16.0), breaker_open=True),
    # graceful-fallback (manual only): a launch is a person's decision, never the breaker's
    Scenario("graceful/segment", "graceful-fallback",
             manual("graceful-fallback", "language-gap", segment=SPANISH)),
    Scenario("graceful/everyone-approved-breaker-open", "graceful-fallback",
             manual("graceful-fallback", "task-success"), breaker_open=True),
    Scenario("graceful/segment-kill-switch-breaker-open", "graceful-fallback",
             manual("graceful-fallback", "language-gap", segment=SPANISH),
             kill_switch=True, breaker_open=True),
    # latency-final-answer: pausing post-processing for everyone is approved
    Scenario("final-answer/segment-sev2-breaker-open", "latency-final-answer",
             breach("final-answer-p95", segment=SPANISH, burn=16.0), breaker_open=True),
    Scenario("final-answer/everyone-sev1-approved", "latency-final-answer",
             breach("final-answer-p95", burn=16.0)),
    Scenario("final-answer/segment-sev3-kill-switch", "latency-final-answer",
             breach("final-answer-p95", segment=SPANISH, observed=3600), kill_switch=True),
    # latency-ttft: scaling inference is always approved (unless the kill switch refuses it)
    Scenario("ttft/segment-sev3-approved", "latency-ttft",
             breach("ttft-p95", segment=SPANISH, observed=850)),
    Scenario("ttft/everyone-sev1-approved-breaker-open", "latency-ttft",
             breach("ttft-p95", burn=16.0), breaker_open=True),
    Scenario("ttft/everyone-sev2-kill-switch", "latency-ttft",
             breach("ttft-p95", burn=6.0), kill_switch=True),
    # minor-breach-review: SEV4, nothing destructive, no condition, no approval
    Scenario("minor/fairness-sev4", "minor-breach-review",
             breach("language-gap", segment=SPANISH, burn=0.5)),
    Scenario("minor/ttft-sev4-kill-switch-breaker-open", "minor-breach-review",
             breach("ttft-p95", segment=SPANISH, observed=790),
             kill_switch=True, breaker_open=True),
    # reliability-escalation-success: the rollback needs two people
    Scenario("reliability/sev2-two-approvers", "reliability-escalation-success",
             breach("escalation-success", observed=0.97, burn=2.0)),
    Scenario("reliability/sev1-two-approvers-breaker-open", "reliability-escalation-success",
             breach("escalation-success", observed=0.90, burn=16.0), breaker_open=True),
    Scenario("reliability/sev2-kill-switch", "reliability-escalation-success",
             breach("escalation-success", observed=0.97, burn=2.0), kill_switch=True),
    # rollback-and-freeze (manual only): approved, fast-tracked, refused, failing
    Scenario("rollback/sev3-approved", "rollback-and-freeze",
             manual("rollback-and-freeze", "language-gap", labels={"component": "prompt"})),
    Scenario("rollback/fast-track-sev1-breaker-open", "rollback-and-freeze",
             manual("rollback-and-freeze", "language-gap", fast_track=True, burn_rate=16.0,
                    labels={"component": "model"}), breaker_open=True),
    Scenario("rollback/kill-switch", "rollback-and-freeze",
             manual("rollback-and-freeze", "language-gap", labels={"component": "prompt"}),
             kill_switch=True),
    Scenario("rollback/unknown-component-fails-at-run-time", "rollback-and-freeze",
             manual("rollback-and-freeze", "language-gap", labels={"component": "search"}),
             stops_at="freeze-releases"),
    Scenario("rollback/unrenderable-args-fail-at-the-gate", "rollback-and-freeze",
             manual("rollback-and-freeze", "language-gap", labels={"component": "x" * 80}),
             stops_at="freeze-releases", kill_switch=True, breaker_open=True),
]  # fmt: skip


@pytest.fixture(scope="module")
def breaker_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped catalog beside safety limits that open the circuit breaker at once."""
    folder = tmp_path_factory.mktemp("breaker-open")
    shutil.copy(CATALOG_PATH, folder / "catalog.yaml")
    (folder / "safety.yaml").write_text(OPEN_BREAKER)
    return folder / "catalog.yaml"


def _overrides(scenario: Scenario, breaker_catalog: Path) -> dict[str, object]:
    overrides: dict[str, object] = {"kill_switch": scenario.kill_switch}
    if scenario.breaker_open:
        overrides["catalog_path"] = breaker_catalog
    return overrides


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_the_workflow_decides_every_step_as_planned(
    scenario: Scenario, make_harness: HarnessFactory, breaker_catalog: Path
) -> None:
    async with make_harness(**_overrides(scenario, breaker_catalog)) as h:
        limit = h.runtime.limits.limit_for(SERVICE, "deploy.pin_version").max_actions
        assert (limit == 0) is scenario.breaker_open
        plan = scenario.plan(h.runtime.settings.workflow_id_prefix)
        assert plan.playbook == scenario.playbook, plan.note
        run = await run_first_playbook(h, scenario.signal, LIBRARY.by_name(plan.playbook))
    problems = disagreements(plan, run)
    assert not problems, report(scenario, plan, run, problems)
    stopped = run.final.steps[-1].id if len(run.final.steps) < len(plan.steps) else None
    assert stopped == scenario.stops_at, report(scenario, plan, run, [f"stopped at {stopped}"])


# -- the matrix itself (no Temporal) --------------------------------------------------------------


def _waits_for_approval(plan: IncidentPlan) -> bool:
    return any(s.decision == "run" and s.approval is not None for s in plan.steps)


def _when_held(plan: IncidentPlan) -> dict[str, bool]:
    """For each step with a ``when``: did it hold (the step was not skipped by its condition)?"""
    conditional = {s.id for s in LIBRARY.by_name(str(plan.playbook)).steps if s.when}
    return {
        s.id: not (s.skip_reason or "").startswith("condition")
        for s in plan.steps
        if s.id in conditional
    }


def _gaps(playbook: Playbook, scenarios: Iterable[Scenario]) -> list[str]:
    """What the playbook's scenarios leave unexercised (empty: every input both ways)."""
    chosen = list(scenarios)
    plans = [s.plan() for s in chosen]
    seen: dict[str, set[bool]] = defaultdict(set)
    for scenario, plan in zip(chosen, plans, strict=True):
        seen["kill switch"].add(scenario.kill_switch)
        seen["breaker open"].add(scenario.breaker_open)
        if any(step.approval for step in playbook.steps):
            seen["waits for approval"].add(_waits_for_approval(plan))
        for step_id, held in _when_held(plan).items():
            seen[f"{step_id}: when"].add(held)
    return [f"{what} never {not values.pop()}" for what, values in seen.items() if len(values) < 2]


@pytest.mark.parametrize("name", LIBRARY.names)
def test_the_matrix_exercises_every_input_of_every_playbook(name: str) -> None:
    mine = [s for s in SCENARIOS if s.playbook == name]
    assert mine, f"no scenario reaches {name}"
    assert all(s.plan().playbook == name for s in mine)
    assert _gaps(LIBRARY.by_name(name), mine) == []


def test_every_scenario_has_its_own_name() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
