"""fairness-language-gap on the time-skipping server, through every path.

The worked example: a prompt rollout lowered answer quality for Spanish speakers. SEV2 with a
segment runs unattended; SEV1 (everyone) asks a person before rolling the prompt back.
"""

from __future__ import annotations

from orchestrator.audit.model import AuditKind
from orchestrator.domain import shared
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import refusing_tickets
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, recovered

SLO = "language-gap"
FLAG = "support-assistant-answer-mode"
WORKED_EXAMPLE = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}  # SEV2
EVERYONE_SEV1 = {"observed": 7.4, "burn": 16.0}  # no segment: SEV1, rollback needs approval


async def test_success_worked_example(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **WORKED_EXAMPLE))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert (state.severity, state.playbook) == ("SEV2", "fairness-language-gap")
    assert [s.status for s in state.steps][:-1] == [
        "skipped",
        "done",
        "done",
        "done",
        "done",
        "done",
    ]
    assert await harness.served_eventually(FLAG, "language", "es", "human-queue") == "human-queue"
    assert await harness.served(FLAG, "language", "en") == "assistant"
    assert await harness.version("prompt") == "answer-prompt-v41"
    assert await harness.frozen("prompt")
    [review] = await harness.reviews()
    assert review.owner == "cx-ai-platform" and review.deadline > review.created_at
    assert "3 points" in review.verification
    assert review.evidence["versions_changed"][0]["before"] == "answer-prompt-v42"
    assert review.evidence["versions_changed"][0]["after"] == "answer-prompt-v41"
    assert review.evidence["flags_changed"][0]["flag"] == FLAG
    assert review.evidence["signals"][0]["segment"] == SPANISH

    await harness.submit(recovered(SLO))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    # The fallback was temporary: undone. The rollback and the freeze were not.
    assert await harness.served_eventually(FLAG, "language", "es", "assistant") == "assistant"
    assert await harness.version("prompt") == "answer-prompt-v41"
    assert await harness.frozen("prompt")
    assert await harness.undone(inc, "route-segment-to-humans")
    kinds = await harness.kinds(inc)
    assert kinds.count(AuditKind.VERIFICATION_PASSED) == 3  # SDK, pin read back, freeze read back
    assert kinds[-1] is AuditKind.INCIDENT_RESOLVED
    assert (await harness.runtime.audit.verify()).ok
    # The runs shared one decoded copy of each playbook (orchestrator/domain/shared.py): running
    # the incident, templates and all, changed nothing in it.
    for playbook in harness.runtime.library.for_service("support-assistant"):
        hits = shared.DECODED.hits
        used = type(playbook).model_validate_json(playbook.model_dump_json())
        assert shared.DECODED.hits == hits + 1, "the copy the runs decoded"
        assert used.model_dump() == playbook.model_dump()


async def test_approval_granted(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.severity == "SEV1"
    assert state.pending_approval is not None
    assert state.pending_approval.step_id == "rollback-prompt"
    assert state.pending_approval.args["component"] == "prompt"
    assert await harness.version("prompt") == "answer-prompt-v42"  # nothing before approval
    approval = "approval/fairness-language-gap/rollback-prompt"
    assert (await harness.paged(approval))[:2] == ["page-oncall", approval]

    ack = await harness.approve(inc, "ana.sre", step="rollback-prompt")
    assert (ack.outcome, ack.step_id) == ("granted", "rollback-prompt")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("prompt") == "answer-prompt-v41"
    [granted] = await harness.events(inc, AuditKind.APPROVAL_GRANTED)
    assert granted.actor == "ana.sre"
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED


async def test_approval_denied(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    ack = await harness.deny(inc, "ana.sre")
    assert ack.outcome == "denied"
    await harness.until(inc, IncidentPhase.MONITORING)
    step = await harness.step(inc, "rollback-prompt")
    assert (step.status, step.detail) == ("skipped", "denied by ana.sre: not run")
    assert await harness.version("prompt") == "answer-prompt-v42"
    assert await harness.frozen("prompt")  # the freeze is its own step
    [denied] = await harness.events(inc, AuditKind.APPROVAL_DENIED)
    assert denied.actor == "ana.sre"
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED


async def test_approval_timed_out_escalates_and_keeps_waiting(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.skip(901)
    state = await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    assert state.pending_approval is not None and state.pending_approval.escalated
    assert "approval-timeout/fairness-language-gap/rollback-prompt" in await harness.page_purposes()
    await harness.approve(inc, "ben.lead")
    await harness.until(inc, IncidentPhase.MONITORING)
    assert await harness.version("prompt") == "answer-prompt-v41"
    await harness.submit(recovered(SLO))
    await harness.result(inc)
    escalations = await harness.events(inc, AuditKind.ESCALATED)
    assert any("no decision on rollback-prompt within 900s" in e.summary for e in escalations)


async def test_step_failing_stops_pages_and_keeps_what_protects_users(
    make_harness: HarnessFactory,
) -> None:
    async with make_harness(wrap_ops=refusing_tickets) as harness:
        inc = await harness.submit(breach(SLO, **WORKED_EXAMPLE))
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "open-fairness-review failed" in (final.error or "")
        assert "project is archived" in (final.error or "")
        # compensate: false — the fallback, the rollback and the freeze stay in place.
        assert await harness.served(FLAG, "language", "es") == "human-queue"
        assert await harness.version("prompt") == "answer-prompt-v41"
        assert "failed" in await harness.page_purposes()
        assert (await harness.kinds(inc))[-1] is AuditKind.ESCALATED


async def test_resolved_mid_run_starts_no_destructive_step(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.submit(recovered(SLO))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    steps = {s.id: s for s in final.steps}
    assert steps["rollback-prompt"].detail == "resolved while waiting for approval: not started"
    assert steps["freeze-prompt-releases"].status == "skipped"
    assert steps["open-fairness-review"].status == "done"  # bookkeeping still happens
    assert await harness.version("prompt") == "answer-prompt-v42"
    assert not await harness.frozen("prompt")


async def test_escalation_mid_run_adds_the_stronger_steps_without_repeating(
    harness: Harness,
) -> None:
    inc = await harness.submit(breach(SLO, **WORKED_EXAMPLE))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach(SLO, **EVERYONE_SEV1))
    await harness.until(inc, IncidentPhase.MONITORING, step="open-fairness-review", runs=2)
    state = await harness.state(inc)
    assert state.severities == ["SEV2", "SEV1"]
    assert state.playbooks_run == ["fairness-language-gap", "fairness-language-gap"]
    # The SEV1 step ran; everything already in place was not repeated (no approval asked).
    assert "page-oncall" in await harness.page_purposes()
    for step in ("route-segment-to-humans", "rollback-prompt", "freeze-prompt-releases"):
        assert await harness.applied(inc, step) == 1, step
    assert len(await harness.reviews()) == 1
    assert (
        "already done by fairness-language-gap/rollback-prompt"
        in (await harness.step(inc, "rollback-prompt")).detail
    )
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    [escalated] = [e for e in await harness.events(inc, AuditKind.ESCALATED)]
    assert "severity SEV2 -> SEV1" in escalated.summary
