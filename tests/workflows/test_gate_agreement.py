"""The dry run and the workflow agree, step by step: both ask the one step gate.

Every shipped playbook goes through ``plan_incident`` and through the real workflow on the
time-skipping server with the same inputs: kill switch on and off, circuit breaker open and
closed, approvals required or not (each is approved by a person, as the plan assumes), and
conditions true and false (a segment or none, a mild or a severe breach). The gate's verdict of
each step (run, skip, refuse, fail) must be the same in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

import pytest

from orchestrator.config.files import load_catalog
from orchestrator.config.playbook_files import load_library
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.policy_plan import plan_incident
from orchestrator.domain.signals import BreachSignal
from orchestrator.errors import ValidationError
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, launched

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = load_library(ROOT / "playbooks")
CATALOG = load_catalog(ROOT / "catalog" / "catalog.yaml")
APPROVERS = ("ana.sre", "ben.lead")
WAITING = (IncidentPhase.MONITORING, IncidentPhase.HOLDING_DOWN)
BREACHES = {  # automatic breaches, one per SLO: policy picks the playbook
    "language-gap": {"segment": SPANISH, "observed": 7.4, "burn": 9.2},
    "task-success": {"segment": SPANISH, "observed": 0.874, "burn": 6.3},
    "ttft-p95": {"observed": 1100.0, "burn": 6.0},
    "final-answer-p95": {"observed": 4.4, "burn": 6.0},
    "escalation-success": {"observed": 0.97, "burn": 2.0},
}


def slo_for(playbook: Playbook) -> str:
    service = CATALOG.service("support-assistant")
    match = playbook.match
    return next(
        s.name
        for s in service.slos
        if s.dimension in match.dimensions and (not match.slos or s.name in match.slos)
    )


def manual(playbook: Playbook, *, severe: bool) -> BreachSignal:
    """A person launches the playbook: for a segment and mildly, or for everyone and badly."""
    if severe:
        return launched(playbook.name, slo_for(playbook), observed=0.5, burn=20.0)
    return launched(playbook.name, slo_for(playbook), segment=SPANISH, burn=2.0)


async def workflow_decisions(harness: Harness, signal: BreachSignal, steps: int) -> list[str]:
    """Run the incident until its first playbook has a verdict on every step (approving every
    approval as a person, letting recovery waits time out), or a step failed."""
    inc = await harness.submit(signal)
    for _ in range(2000):
        state = await harness.state(inc)
        pending = state.pending_approval
        if pending is not None:
            taken = {*pending.approvals, pending.launcher}
            who = next((a for a in APPROVERS if a not in taken), None)
            if who is not None:
                # The state may still show an approval just granted: a refusal then is fine.
                with contextlib.suppress(ValidationError):
                    await harness.approve(inc, who, step=pending.step_id)
            await asyncio.sleep(0.02)
            continue
        first = state.steps[:steps]
        if state.phase.finished or any(s.status == "failed" for s in first):
            break
        if len(first) == steps and first[-1].status != "running":
            break
        if state.phase in WAITING:
            await harness.skip(120)
        else:
            await asyncio.sleep(0.02)
    return [f"{s.id}:{s.gate}" for s in state.steps[:steps] if s.gate]


async def check(
    harness: Harness, signal: BreachSignal, *, kill_switch: bool = False, breaker_open: bool = False
) -> None:
    plan = plan_incident(
        signal, CATALOG, LIBRARY, kill_switch=kill_switch, breaker_open=breaker_open
    )
    assert plan.playbook is not None, plan.note
    planned = [f"{s.id}:{s.decision}" for s in plan.steps]
    ran = await workflow_decisions(harness, signal, len(planned))
    assert ran, "the workflow decided no step"
    table = "\n".join(
        f"  plan {p:45} workflow {w}" for p, w in zip(planned, [*ran, *[""] * 99], strict=False)
    )
    assert ran == planned[: len(ran)], f"{plan.playbook}: plan and workflow disagree\n{table}"
    if len(ran) < len(planned):
        state = (await harness.state(next(iter(harness.started)))).steps
        assert state[len(ran) - 1].status == "failed", f"stopped early without a failure\n{table}"


@pytest.mark.parametrize("severe", [False, True], ids=["segment-mild", "everyone-severe"])
@pytest.mark.parametrize("name", LIBRARY.names)
async def test_manual_launch_agrees(harness: Harness, name: str, severe: bool) -> None:
    await check(harness, manual(LIBRARY.by_name(name), severe=severe))


@pytest.mark.parametrize("name", LIBRARY.names)
async def test_kill_switch_on_agrees(make_harness: HarnessFactory, name: str) -> None:
    async with make_harness(kill_switch=True) as harness:
        await check(harness, manual(LIBRARY.by_name(name), severe=False), kill_switch=True)


@pytest.mark.parametrize("slo", sorted(BREACHES))
async def test_automatic_breach_agrees(harness: Harness, slo: str) -> None:
    await check(harness, breach(slo, **BREACHES[slo]))  # type: ignore[arg-type]


@pytest.mark.parametrize("slo", sorted(BREACHES))
async def test_circuit_breaker_open_agrees(
    make_harness: HarnessFactory, tmp_path: Path, slo: str
) -> None:
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    shutil.copy(ROOT / "catalog" / "catalog.yaml", catalog_dir / "catalog.yaml")
    (catalog_dir / "safety.yaml").write_text(
        "circuit_breaker:\n  default: {max_actions: 0, window_seconds: 3600}\n"
    )
    async with make_harness(catalog_path=catalog_dir / "catalog.yaml") as harness:
        await check(harness, breach(slo, **BREACHES[slo]), breaker_open=True)  # type: ignore[arg-type]


def test_every_playbook_is_covered() -> None:
    automatic = {
        p.name
        for slo, fields in BREACHES.items()
        if (p := _selected(breach(slo, **fields))) is not None  # type: ignore[arg-type]
    }
    assert automatic | set(LIBRARY.names) == set(LIBRARY.names)
    assert len(automatic) >= 5


def _selected(signal: BreachSignal) -> Playbook | None:
    plan = plan_incident(signal, CATALOG, LIBRARY)
    return LIBRARY.by_name(plan.playbook) if plan.playbook else None
