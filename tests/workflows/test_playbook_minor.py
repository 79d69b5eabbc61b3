"""minor-breach-review (SEV4 of any SLO) on the time-skipping server.

It changes nothing users get and asks nobody's approval, so of the seven paths it has five:
success, step failing, resolved mid-run, escalation mid-run (to the SLO's own playbook), and the
absence of any approval step is asserted instead of the three approval paths.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from orchestrator.config.playbook_files import load_playbook_file
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.faults import refusing_tickets
from tests.workflows.harness import Harness
from tests.workflows.helpers import occurrence_of
from tests.workflows.signals import breach, recovered
from workers.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SLO = "ttft-p95"
WARNING = {"segment": "region=eu", "observed": 790.0, "burn": 0.5}  # not past objective: SEV4
CONTEXT = "support-assistant-context-size"


async def test_success_opens_a_review_and_changes_nothing(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **WARNING))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    assert (state.severity, state.playbook) == ("SEV4", "minor-breach-review")
    [review] = await harness.reviews()
    assert review.title == "Minor breach: p95 time to first token (region=eu)"
    assert review.verification == "p95 time to first token back within <= 800.0 over 7d"
    await harness.submit(recovered(SLO))
    assert (await harness.result(inc)).phase is IncidentPhase.RESOLVED
    assert (await harness.runtime.flags.get_flag(CONTEXT)).rules == ()
    assert await harness.pages() == []


def test_there_is_no_approval_path() -> None:
    playbook = load_playbook_file(ROOT / "playbooks" / "minor-breach-review.yaml")
    assert all(step.approval is None for step in playbook.steps)
    assert playbook.match.severities == ("SEV4",)


async def test_step_failing_pages(make_harness: HarnessFactory) -> None:
    async with make_harness(wrap_ops=refusing_tickets) as harness:
        inc = await harness.submit(breach(SLO, **WARNING))
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.FAILED
        assert "failed" in await harness.page_purposes()


async def test_resolved_before_it_runs_still_files_the_review(
    ts_env: WorkflowEnvironment, runtime: Runtime
) -> None:
    harness = Harness(ts_env, runtime)
    submitter = harness.submitter()
    key = (await submitter.submit(breach(SLO, **WARNING))).incident_id
    await submitter.submit(recovered(SLO))  # both wait for a worker, in order
    async with runtime.worker(ts_env.client):
        inc = await occurrence_of(ts_env.client, key)
        harness.started.add(key)
        final = await harness.result(inc)
        assert final.phase is IncidentPhase.RESOLVED
        assert len(await harness.reviews()) == 1  # bookkeeping is not destructive
        await harness.close()


async def test_escalation_mid_run_moves_to_the_slo_playbook(harness: Harness) -> None:
    inc = await harness.submit(breach(SLO, **WARNING))
    await harness.until(inc, IncidentPhase.MONITORING)
    await harness.submit(breach(SLO, observed=900.0, burn=2.0))  # everyone: SEV2
    state = await harness.until(inc, IncidentPhase.MONITORING, step="verify-reduced-context")
    assert state.playbooks_run == ["minor-breach-review", "latency-ttft"]
    assert state.severities == ["SEV4", "SEV2"]
    assert await harness.served_eventually(CONTEXT, "k", "v", "reduced") == "reduced"
    await harness.skip(601)  # the ttft playbook gives the smaller context 10 minutes
    await harness.until(inc, IncidentPhase.AWAITING_APPROVAL)
    await harness.deny(inc, "ana.sre")  # no extra inference capacity
    await harness.until(inc, IncidentPhase.MONITORING, step="open-review", runs=2)
    review = await harness.step(inc, "open-review")
    assert review.detail == "already done by minor-breach-review/open-review: not repeated"
    assert len(await harness.reviews()) == 1
