"""Remediation policy across playbooks, on the time-skipping server: resolution and flapping,
kill switch, circuit breaker, abort, fast-track, the two-person rule, the closed loop."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.audit.model import AuditKind
from orchestrator.client import control as incident_control
from orchestrator.errors import NotFoundError, ValidationError
from orchestrator.workflows.types import IncidentPhase, IncidentState
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.helpers import occurrence_of, settled
from tests.workflows.signals import SPANISH, breach, launched, recovered
from workers.runtime import WORKFLOWS, Runtime, workflow_runner

ROOT = Path(__file__).resolve().parents[2]
FLAG = "support-assistant-answer-mode"
FAIRNESS = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}  # SEV2, unattended
RELIABILITY = {"observed": 0.97, "burn": 2.0}  # SEV2, two-person rollback


async def test_resolution_before_any_action_starts_no_destructive_step(
    ts_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    """Firing and resolved arrive before a worker picks the incident up: nothing is changed."""
    harness = Harness(ts_env, runtime)
    inc = await harness.submit(breach("language-gap", **FAIRNESS), wait=False)
    await harness.submit(recovered("language-gap"), wait=False)
    async with runtime.worker(ts_env.client):
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        route = next(s for s in final.steps if s.id == "route-segment-to-humans")
        assert route.status == "skipped" and "resolved" in route.detail
        assert (await runtime.flags.get_flag(FLAG)).rules == ()
        assert await harness.version("prompt") == "answer-prompt-v42"
        await harness.close()  # the key's workflow ends too (it would hold the test clock)


async def test_worker_restart_while_incident_waits(
    ts_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    harness = Harness(ts_env, runtime)
    # Without a workflow cache the first worker leaves no sticky queue behind (the test server
    # does not release one on shutdown, so the next task would wait out its timeout).
    first = Worker(
        ts_env.client,
        task_queue=runtime.settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=runtime.activities,
        workflow_runner=workflow_runner(),
        max_cached_workflows=0,
    )
    async with first:
        inc = await harness.submit(breach("language-gap", **FAIRNESS))
        await harness.until(inc, IncidentPhase.MONITORING)
        # The first worker stops with no activity in flight: one it took and could not finish
        # (the audit write scheduled as monitoring starts) is tried again only after its
        # start-to-close timeout, in the test server's time, which stands still while nothing
        # waits for a result; a CI run met it there, and every later test's clock stood still.
        handle = harness.client.get_workflow_handle(await occurrence_of(harness.client, inc))
        idle = await settled(handle.describe, lambda d: not d.raw_description.pending_activities)
        assert not idle.raw_description.pending_activities
    # No worker now: the incident waits durably in Temporal.
    await harness.submit(recovered("language-gap"), wait=False)
    async with runtime.worker(ts_env.client):
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        assert await harness.applied(inc, "route-segment-to-humans") == 1
        await harness.close()


async def test_flapping_alert_does_not_flap_the_mitigation(harness: Harness) -> None:
    inc = await harness.submit(breach("language-gap", **FAIRNESS))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(recovered("language-gap"))
    await harness.until(inc, IncidentPhase.HOLDING_DOWN)
    await harness.submit(breach("language-gap", **FAIRNESS))  # fires again inside the hold-down
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert state.firing
    assert await harness.served(FLAG, "language", "es") == "human-queue"  # still in place
    await harness.submit(recovered("language-gap"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.applied(inc, "route-segment-to-humans") == 1
    undos = [
        e for e in await harness.events(inc, AuditKind.EFFECT_APPLIED) if e.data.get("undo") is True
    ]
    assert len(undos) == 1
    notes = [e.summary for e in await harness.events(inc, AuditKind.NOTE)]
    assert "fired again during the hold-down: the incident stays open" in notes


async def test_kill_switch_from_settings_makes_the_orchestrator_notify_only(
    make_harness: HarnessFactory,
) -> None:
    async with make_harness(kill_switch=True) as harness:
        inc = await harness.submit(breach("language-gap", **FAIRNESS))
        state = await harness.until(inc, IncidentPhase.MONITORING)
        skipped = {s.id: s.detail for s in state.steps if s.status == "skipped"}
        assert skipped["route-segment-to-humans"].startswith("kill switch on")
        assert skipped["rollback-prompt"].startswith("kill switch on")
        assert skipped["freeze-prompt-releases"].startswith("kill switch on")
        assert (await harness.runtime.flags.get_flag(FLAG)).rules == ()
        assert await harness.version("prompt") == "answer-prompt-v42"
        assert len(await harness.reviews()) == 1  # notices still go out
        assert (await harness.page_purposes()).count("kill-switch") == 1


async def test_kill_switch_turned_on_at_run_time_holds_running_incidents(
    harness: Harness,
) -> None:
    inc = await harness.submit(breach("language-gap", observed=7.4, burn=16.0))  # SEV1
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.runtime.ops.safety.set_kill_switch(
        True, by="maria.oncall", reason="bad deploy day", now=datetime.now(UTC)
    )
    await harness.approve(inc, "ana.sre")
    state = await harness.until(inc, IncidentPhase.MONITORING)
    steps = {s.id: s for s in state.steps}
    assert "kill switch on (by maria.oncall: bad deploy day)" in steps["rollback-prompt"].detail
    assert await harness.version("prompt") == "answer-prompt-v42"
    assert "kill-switch" in await harness.page_purposes()


async def test_circuit_breaker_limits_automated_actions_across_incidents(
    make_harness: HarnessFactory, tmp_path: Path
) -> None:
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    shutil.copy(ROOT / "catalog" / "catalog.yaml", catalog_dir / "catalog.yaml")
    (catalog_dir / "safety.yaml").write_text(
        "circuit_breaker:\n  actions:\n"
        "    deploy.pin_version: {max_actions: 1, window_seconds: 3600}\n"
    )
    async with make_harness(catalog_path=catalog_dir / "catalog.yaml") as harness:
        first = await harness.submit(breach("language-gap", **FAIRNESS))
        await harness.until(first, IncidentPhase.MONITORING)
        assert await harness.version("prompt") == "answer-prompt-v41"
        second = await harness.submit(breach("task-success", segment=SPANISH, observed=0.874))
        await harness.until(second, IncidentPhase.MONITORING)  # the fallback's own wait
        await harness.skip(901)
        state = await harness.until(second, IncidentPhase.MONITORING, step="open-review")
        rollback = next(s for s in state.steps if s.id == "rollback-model")
        assert rollback.status == "skipped"
        assert "circuit breaker open: 1 automated deploy.pin_version" in rollback.detail
        assert await harness.version("model") == "assistant-model-2026-11-20"
        assert "refused/accuracy-task-success/rollback-model" in await harness.page_purposes()


async def test_abort_stops_the_playbook_cleanly_and_is_recorded(harness: Harness) -> None:
    inc = await harness.submit(breach("language-gap", observed=7.4, burn=16.0))  # SEV1
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    ack = await incident_control.abort(
        harness.client, inc, by="maria.oncall", reason="rolling back by hand"
    )
    assert ack.outcome == "aborting"
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.ABORTED
    assert final.pending_approval is None
    assert [s.id for s in final.steps][-1] == "rollback-prompt"  # nothing after it started
    assert await harness.version("prompt") == "answer-prompt-v42"
    [aborted] = await harness.events(inc, AuditKind.INCIDENT_ABORTED)
    assert aborted.actor == "maria.oncall" and "rolling back by hand" in aborted.summary
    with pytest.raises((NotFoundError, ValidationError)):
        await incident_control.abort(harness.client, inc, by="x", reason="again")


async def test_control_refusals_are_one_line_errors(harness: Harness) -> None:
    inc = await harness.submit(breach("language-gap", **FAIRNESS))
    await harness.until(inc, IncidentPhase.MONITORING)
    with pytest.raises(ValidationError, match="no step of this incident is waiting"):
        await harness.approve(inc, "ana.sre")
    with pytest.raises(ValidationError, match="say who aborts"):
        await incident_control.abort(harness.client, inc, by=" ", reason="x")
    with pytest.raises(NotFoundError):
        await harness.approve("incident-no-such-thing", "ana.sre")


async def test_two_person_rule_for_an_automatic_incident_needs_two_approvers(
    harness: Harness,
) -> None:
    inc = await harness.submit(breach("escalation-success", **RELIABILITY))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None and state.pending_approval.needed == 2
    first = await harness.approve(inc, "ana.sre")
    assert first.outcome == "waiting"
    with pytest.raises(ValidationError, match=r"ana\.sre already approved"):
        await harness.approve(inc, "ana.sre")
    second = await harness.approve(inc, "ben.lead")
    assert second.outcome == "granted"
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("handoff-router") == "handoff-router-2026-11-10"
    granted = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert [e.actor for e in granted] == ["ana.sre", "ben.lead"]


async def test_the_launcher_may_not_approve_a_two_person_step_even_fast_tracked(
    harness: Harness,
) -> None:
    signal = launched(
        "reliability-escalation-success", "escalation-success", fast_track=True, **RELIABILITY
    )
    inc = await harness.submit(signal)
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None
    assert state.pending_approval.launcher == "maria.oncall"
    with pytest.raises(ValidationError, match=r"two-person rule: maria\.oncall launched this"):
        await harness.approve(inc, "maria.oncall")
    assert (await harness.approve(inc, "ana.sre")).outcome == "granted"
    await harness.until(inc, IncidentPhase.MONITORING)
    notes = [e.summary for e in await harness.events(inc, AuditKind.NOTE)]
    assert any("does not bypass the two-person rule" in n for n in notes)


async def test_fast_track_runs_a_rollback_at_once_and_records_it(harness: Harness) -> None:
    signal = launched(
        "rollback-and-freeze",
        "task-success",
        fast_track=True,
        labels={"component": "model"},
        reason="bad model release",
    )
    inc = await harness.submit(signal)
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert state.fast_track_by == "maria.oncall"
    assert await harness.version("model") == "assistant-model-2026-10-02"
    assert await harness.frozen("model")
    [granted] = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert granted.actor == "maria.oncall" and granted.data["fast_track"] is True
    [launch] = await harness.events(inc, AuditKind.MANUAL_LAUNCH)
    assert launch.data["fast_track"] is True and "fast-track" in launch.summary


async def test_fast_track_into_a_running_incident_skips_the_waits(harness: Harness) -> None:
    inc = await harness.submit(breach("task-success", segment=SPANISH, observed=0.874))  # SEV3
    await harness.until(inc, IncidentPhase.MONITORING)  # giving the fallback 15 minutes
    playbook = harness.runtime.library.by_name("accuracy-task-success")
    signal = launched("accuracy-task-success", "task-success", reason="no time to wait")
    ack = await incident_control.fast_track(
        harness.client, harness.submitter(), signal, playbook, inc
    )
    assert getattr(ack, "outcome", None) == "launching"
    state = await harness.until(inc, IncidentPhase.MONITORING, step="open-review")
    assert await harness.version("model") == "assistant-model-2026-10-02"
    waits = [s for s in state.steps if s.id == "give-fallback-time"]
    assert waits[-1].detail == "fast-track by maria.oncall: wait skipped"
    assert await harness.applied(inc, "route-segment-to-humans") == 1


async def test_unrecovered_incident_pages_then_is_handed_to_humans(harness: Harness) -> None:
    inc = await harness.submit(breach("language-gap", **FAIRNESS))
    await harness.until(inc, IncidentPhase.MONITORING)
    final: IncidentState = await harness.result(inc)  # nobody sends a resolved signal
    assert final.phase is IncidentPhase.CLOSED
    assert "still firing 24h after the playbook; handed to humans" in (
        (await harness.events(inc, AuditKind.INCIDENT_CLOSED))[0].summary
    )
    purposes = await harness.page_purposes()
    assert "recovery-timeout/wait-for-recovery" in purposes
    assert "still-firing" in purposes


async def test_the_worst_signal_before_the_start_sets_the_severity(
    ts_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    """Signals that arrive together (before a worker picks the incident up) are all weighed."""
    harness = Harness(ts_env, runtime)
    signal = breach("task-success", segment=SPANISH, observed=0.874, burn=6.3)
    inc = await harness.submit(signal, wait=False)
    await harness.submit(breach("task-success", observed=0.80, burn=16.0), wait=False)  # SEV1
    async with runtime.worker(ts_env.client):
        state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
        assert state.severities == ["SEV1"]
        assert state.pending_approval is not None
        assert state.pending_approval.step_id == "route-everyone-to-humans"
        await harness.close()
