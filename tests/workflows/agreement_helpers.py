"""Plan and workflow, side by side: one scenario's dry run, its incident driven through the first
playbook on the time-skipping server, and the step-by-step comparison (for test_gate_agreement).

The driver acts as people would and nothing more: it approves each step the incident waits on
(as named people, never the launcher), lets the waits between mitigations time out (the clock is
skipped), and once the playbook is in its last wait sends a resolved signal, so the incident ends
and nothing is left running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config.files import load_catalog
from orchestrator.config.playbook_files import load_library
from orchestrator.domain.gate import WAIT_FOR_RECOVERY
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.policy_plan import IncidentPlan, PlannedStep, plan_incident
from orchestrator.domain.signals import BreachSignal, SignalStatus
from orchestrator.workflows.types import IncidentPhase, IncidentState, StepRecord
from tests.workflows.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = ROOT / "catalog" / "catalog.yaml"
CATALOG = load_catalog(CATALOG_PATH)
LIBRARY = load_library(ROOT / "playbooks")

APPROVERS = ("ana.sre", "ben.lead")
"""The people who approve (two for a two-person rule); never the launcher."""
ANY_PHASE = tuple(IncidentPhase)
STOPS = (
    IncidentPhase.AWAITING_APPROVAL,
    IncidentPhase.MONITORING,
    *(phase for phase in IncidentPhase if phase.finished),
)
"""Where the driver has something to do (or nothing more)."""


@dataclass(frozen=True)
class Scenario:
    """One input combination: the signal, the start-up kill switch, the circuit breaker."""

    name: str
    playbook: str
    """The playbook the scenario is meant to reach (asserted, so coverage is real)."""
    signal: BreachSignal
    kill_switch: bool = False
    breaker_open: bool = False
    stops_at: str | None = None
    """The step the workflow stops at (it fails), if the scenario is one that stops early."""

    def __str__(self) -> str:
        return self.name

    def plan(self, workflow_id_prefix: str = "incident") -> IncidentPlan:
        return plan_incident(
            self.signal,
            CATALOG,
            LIBRARY,
            kill_switch=self.kill_switch,
            breaker_open=self.breaker_open,
            workflow_id_prefix=workflow_id_prefix,
        )


@dataclass
class Run:
    final: IncidentState
    approved: list[str] = field(default_factory=list)
    """The steps the incident waited on a person to approve, in order."""


# -- driving the incident --------------------------------------------------------------------------


async def run_first_playbook(h: Harness, signal: BreachSignal, playbook: Playbook) -> Run:
    """Submit ``signal`` and drive the incident through ``playbook`` to its end."""
    inc = await h.submit(signal)
    approved: list[str] = []
    for _ in range(4 * len(playbook.steps)):
        state = await h.until(inc, *STOPS)
        if state.phase.finished:
            break
        if state.phase is IncidentPhase.AWAITING_APPROVAL:
            approved.append(await _approve(h, inc, state))
        elif _in_last_wait(state, playbook):
            await h.submit(_recovered(signal))
            break
        else:
            await _skip_wait(h, inc, state, playbook)
    else:
        raise AssertionError(f"{inc} did not get through {playbook.name}: {state}")
    return Run(await h.result(inc), approved)


async def _approve(h: Harness, inc: str, state: IncidentState) -> str:
    pending = state.pending_approval
    assert pending is not None
    for name in APPROVERS:
        if (await h.approve(inc, name, step=pending.step_id)).outcome == "granted":
            break
    else:
        raise AssertionError(f"{pending.step_id} not granted by {APPROVERS}")
    await h.until(inc, *ANY_PHASE, step=pending.step_id)
    return pending.step_id


def _in_last_wait(state: IncidentState, playbook: Playbook) -> bool:
    """Monitoring in the playbook's last step, or after the playbook (no step running)."""
    return len(state.steps) >= len(playbook.steps) or state.steps[-1].status != "running"


async def _skip_wait(h: Harness, inc: str, state: IncidentState, playbook: Playbook) -> None:
    """A wait between mitigations: let it time out (the plan assumes the breach keeps firing)."""
    current = state.steps[-1]
    step = playbook.step(current.id)
    assert step.action == WAIT_FOR_RECOVERY, f"monitoring in {current.id} ({step.action})"
    await h.skip(step.timeout_seconds + 1)
    await h.until(inc, *ANY_PHASE, step=current.id)


def _recovered(signal: BreachSignal) -> BreachSignal:
    """A hand-sent resolution for the incident's SLO (it clears every alert of the service)."""
    return BreachSignal(
        service=signal.service,
        slo=signal.slo,
        dimension=signal.dimension,
        status=SignalStatus.RESOLVED,
        source="test",
    )


# -- comparing -------------------------------------------------------------------------------------


def expected_approvals(plan: IncidentPlan, reached: int) -> list[str]:
    """The steps the workflow should wait on a person for, among the first ``reached``: those
    the plan runs (or the safety ledger refuses after it) with an approval, except one-person
    approvals a fast-track grants itself."""
    return [
        s.id
        for s in plan.steps[:reached]
        if s.decision in ("run", "refuse")
        and s.approval is not None
        and (s.approval["two_person"] or not plan.fast_track)
    ]


def disagreements(plan: IncidentPlan, run: Run) -> list[str]:
    """Every way the workflow's first playbook run differs from the plan (empty: they agree)."""
    steps = run.final.steps
    problems: list[str] = []
    if run.final.playbooks_run != [plan.playbook]:
        problems.append(f"playbooks run: {run.final.playbooks_run}, plan: {plan.playbook}")
    if len(steps) > len(plan.steps):
        problems.append(f"the workflow recorded {len(steps)} steps, the plan has {len(plan.steps)}")
    for i, record in enumerate(steps):
        planned = plan.steps[i] if i < len(plan.steps) else None
        if _differs(planned, record):
            problems.append(f"step {i}: plan {_said(planned)}, workflow {_seen(record)}")
    if len(steps) < len(plan.steps) and (not steps or steps[-1].status != "failed"):
        problems.append(f"the workflow stopped after {len(steps)} steps without a failed step")
    asked = expected_approvals(plan, len(steps))
    if run.approved != asked:
        problems.append(f"approvals waited for: workflow {run.approved}, plan {asked}")
    return problems


def _seen(record: StepRecord) -> tuple[str, str]:
    return record.id, record.gate


def _said(planned: PlannedStep | None) -> tuple[str, str] | None:
    return None if planned is None else (planned.id, planned.decision)


def _differs(planned: PlannedStep | None, record: StepRecord | None) -> bool:
    """A step the workflow's gate decided (non-empty ``gate``) that the plan decided otherwise,
    or that is not at the same position in the plan."""
    return record is not None and bool(record.gate) and _seen(record) != _said(planned)


def decision_table(plan: IncidentPlan, steps: list[StepRecord]) -> str:
    """Step by step: the plan's decision and the workflow's (with the step's status)."""
    rows = [f"  {'#':>2}  {'step':<36} {'plan':<8} workflow"]
    for i in range(max(len(plan.steps), len(steps))):
        planned = plan.steps[i] if i < len(plan.steps) else None
        record = steps[i] if i < len(steps) else None
        rows.append(f"  {i:>2}  {_row(planned, record)}")
    return "\n".join(rows)


def _row(planned: PlannedStep | None, record: StepRecord | None) -> str:
    step_id = record.id if record else planned.id if planned else "?"
    said = planned.decision if planned else "-"
    if planned is not None and record is not None and record.id != planned.id:
        said = f"{said} (plan's step: {planned.id})"
    seen = f"{record.gate or '(none)'} ({record.status})" if record else "- (not reached)"
    mark = "   <-- differs" if _differs(planned, record) else ""
    return f"{step_id:<36} {said:<8} {seen}{mark}"


def report(scenario: Scenario, plan: IncidentPlan, run: Run, problems: list[str]) -> str:
    final = run.final
    head = (
        f"plan and workflow disagree in {scenario.name} (playbook {plan.playbook},"
        f" kill switch {scenario.kill_switch}, breaker open {scenario.breaker_open},"
        f" severity plan {plan.severity.severity if plan.severity else None} /"
        f" workflow {final.severity}, ended {final.phase.value}: {final.error or '-'})"
    )
    return "\n".join([head, *(f"- {p}" for p in problems), decision_table(plan, final.steps)])
