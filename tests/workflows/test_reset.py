"""Idempotency keys are the occurrence's, not the run's: ``temporal workflow reset`` re-runs every
step, and every step finds the effect it made before and makes no second one.

On the real dev server, with the real ``temporal`` CLI: the worked example (a fairness breach for
language=es) is mitigated, the occurrence is reset to its first workflow task, the new run walks
the playbook again, and the providers' own write logs (the flag store's version and rules, the
deployment history, the freezes, the review tickets, the pages) show nothing applied twice. Then
the incident resolves and each undo happens once.

The playbook is the worked example's with three changes so every kind of effect is in play and the
test stays quick: the prompt rollback and the freeze are temporary (undone on resolution, so their
undo can be checked too), the on-call page runs at every severity (so a page is among the effects),
and the hold-down is one second.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from orchestrator.audit.factory import open_holding_store
from orchestrator.client.submitter import submitter_for
from orchestrator.domain.ops_models import Freeze, Page, ReviewTicket
from orchestrator.domain.playbook import Playbook, PlaybookLibrary
from orchestrator.domain.policy import ResolutionPolicy
from orchestrator.providers.local_ops import local_ops
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from tests.workflows.helpers import (
    FLAG,
    fairness_breach,
    occurrence_of,
    resolved,
    served,
    served_eventually,
)
from workers.devserver import temporal_binary
from workers.runtime import Runtime

SERVICE = "support-assistant"
PLAYBOOK = "fairness-language-gap"
TEMPORARY = ("route-segment-to-humans", "rollback-prompt", "freeze-prompt-releases")
EFFECTS = (
    "page-oncall",
    "route-segment-to-humans",
    "rollback-prompt",
    "freeze-prompt-releases",
    "open-fairness-review",
)
WAIT = 60.0


def reset_library(runtime: Runtime) -> PlaybookLibrary:
    """The runtime's library with the worked example's playbook changed as the docstring says."""
    original = runtime.library.by_name(PLAYBOOK)
    steps = tuple(
        s.model_copy(update={"when": None})
        if s.id == "page-oncall"
        else s.model_copy(update={"temporary": True})
        if s.id in TEMPORARY
        else s
        for s in original.steps
    )
    resolution = ResolutionPolicy(
        hold_down_seconds=1, max_open_seconds=original.resolution.max_open_seconds
    )
    variant: Playbook = original.model_copy(update={"steps": steps, "resolution": resolution})
    return PlaybookLibrary(
        playbooks=tuple(variant if p.name == PLAYBOOK else p for p in runtime.library.playbooks)
    )


@dataclass(frozen=True)
class Writes:
    """What the providers hold: each write a step makes shows here."""

    flag_version: int
    rules: tuple[tuple[str | None, str], ...]  # (ref, what it serves)
    prompt: str
    prompt_history: tuple[str, ...]
    freezes: tuple[Freeze, ...]
    tickets: tuple[ReviewTicket, ...]
    pages: tuple[Page, ...]


async def writes(runtime: Runtime) -> Writes:
    state = await runtime.flags.get_flag(FLAG)
    local = local_ops(runtime.settings.state_dir)
    prompt = await local.deploy.state(SERVICE, "prompt")
    return Writes(
        flag_version=state.version,
        rules=tuple((r.ref, str(state.value_of(r.variation_id))) for r in state.rules),
        prompt=prompt.version,
        prompt_history=prompt.history,
        freezes=tuple(await local.freezes.all()),
        tickets=tuple(await local.tickets.all()),
        pages=tuple(await local.pager.all()),
    )


def detail(state: IncidentState, step: str) -> str:
    [record] = [s for s in state.steps if s.id == step]
    return record.detail


async def held(runtime: Runtime, targets: list[str]) -> dict[str, list[str]]:
    """The holders of each target in the holdings ledger ([] when nothing is held)."""
    store = open_holding_store(runtime.settings.effective_audit_url)
    try:
        found: dict[str, list[str]] = {}
        for target in targets:
            stored = await store.get(target)
            found[target] = [h["id"] for h in stored.body["holders"]] if stored else []
        return found
    finally:
        await store.close()


async def mitigated(client: Client, occurrence: str, *, not_run: str | None) -> IncidentState:
    """The state of the occurrence's latest run (one other than ``not_run``) once every effect
    step is done and it waits for recovery."""
    handle = client.get_workflow_handle(occurrence)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    state: IncidentState | None = None
    while loop.time() < deadline:
        try:
            run = (await handle.describe()).run_id
            if run != not_run:
                state = await handle.query(QUERY_STATE, result_type=IncidentState)
        except Exception:
            state = None
        if state is not None and state.phase is IncidentPhase.MONITORING:
            done = {s.id: s.status for s in state.steps}
            if all(done.get(step) == "done" for step in EFFECTS):
                return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"{occurrence} (a run other than {not_run}) never mitigated: {state}")


async def cli_reset(env: WorkflowEnvironment, occurrence: str) -> str:
    """``temporal workflow reset`` to the first workflow task, as an operator would run it."""
    address = env.client.service_client.config.target_host
    process = await asyncio.create_subprocess_exec(
        str(temporal_binary()),
        "workflow",
        "reset",
        "--workflow-id",
        occurrence,
        "--type",
        "FirstWorkflowTask",
        "--reason",
        "test",
        "--address",
        address,
        "--namespace",
        env.client.namespace,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=WAIT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    return text


async def test_a_reset_run_applies_no_effect_twice_and_undoes_each_once(
    runtime: Runtime, temporal_env: WorkflowEnvironment, temporal_client: Client, worker: Worker
) -> None:
    submitter = submitter_for(
        temporal_client, runtime.settings, runtime.catalog, reset_library(runtime)
    )
    untouched = await writes(runtime)
    assert untouched.prompt == "answer-prompt-v42" and untouched.rules == ()
    key = (await submitter.submit(fairness_breach())).incident_id
    occurrence = ""
    try:
        occurrence = await occurrence_of(temporal_client, key)
        first = await mitigated(temporal_client, occurrence, not_run=None)
        assert (first.playbook, first.severity) == (PLAYBOOK, "SEV2")
        first_run = (await temporal_client.get_workflow_handle(occurrence).describe()).run_id
        before = await writes(runtime)
        assert await served_eventually(runtime, "es", "human-queue") == "human-queue"
        assert await served(runtime, "en") == "assistant"
        assert before.flag_version == untouched.flag_version + 1
        [(ref, serves)] = before.rules
        assert ref and serves == "human-queue"
        assert before.prompt == "answer-prompt-v41"
        assert before.prompt_history == (*untouched.prompt_history, "answer-prompt-v42")
        [freeze] = before.freezes
        assert freeze.active_at(datetime.now(UTC)) and freeze.component == "prompt"
        assert len(before.tickets) == 1 and len(before.pages) == 1
        targets = [e.undo.holding for e in first.effects if e.undo is not None and e.undo.holding]
        holders = await held(runtime, targets)

        await cli_reset(temporal_env, occurrence)
        again = await mitigated(temporal_client, occurrence, not_run=first_run)
        description = await temporal_client.get_workflow_handle(occurrence).describe()
        assert description.run_id != first_run
        old = await temporal_client.get_workflow_handle(occurrence, run_id=first_run).describe()
        assert old.status is WorkflowExecutionStatus.TERMINATED  # what a reset does to the old run
        assert [s.id for s in again.steps if s.status == "done"] == [
            s.id for s in first.steps if s.status == "done"
        ], "the new run walked the whole playbook again"

        # The audit says which effects the new run found rather than made.
        made = ("freeze-prompt-releases", "open-fairness-review", "page-oncall")
        for step in made:
            assert "found in place" not in detail(first, step), detail(first, step)
            assert "found in place" in detail(again, step), detail(again, step)
        # Every step ran again; none wrote again.
        after = await writes(runtime)
        assert after.flag_version == before.flag_version, "no flag write"
        assert after.rules == before.rules, "no second rule"
        assert (after.prompt, after.prompt_history) == (before.prompt, before.prompt_history)
        assert after.freezes == before.freezes, "one freeze"
        assert after.tickets == before.tickets, "one review ticket"
        assert after.pages == before.pages, "no second page"
        # The holdings ledger: the rule, the pin and the freeze, each held once, by this step.
        assert len(targets) == 3, first.effects
        assert all(len(h) == 1 for h in holders.values()), holders
        assert await held(runtime, targets) == holders, "the same holder, once"
        assert await served(runtime, "es") == "human-queue"
        assert await served(runtime, "en") == "assistant"

        # Resolved: each temporary effect is undone, once.
        await submitter.submit(resolved(fairness_breach()))
        handle = temporal_client.get_workflow_handle(occurrence, result_type=IncidentState)
        final = await asyncio.wait_for(handle.result(), timeout=WAIT)
        assert final.phase is IncidentPhase.RESOLVED, final
        done = await writes(runtime)
        assert done.flag_version == before.flag_version + 1, "one write: the rule removed"
        assert done.rules == ()
        assert await served_eventually(runtime, "es", "assistant") == "assistant"
        assert await served(runtime, "en") == "assistant"
        assert done.prompt == "answer-prompt-v42"
        assert done.prompt_history == (*before.prompt_history, "answer-prompt-v41"), "one restore"
        [lifted] = done.freezes
        assert lifted.id == freeze.id and lifted.lifted_at is not None
        assert not lifted.active_at(datetime.now(UTC))
        assert (done.tickets, done.pages) == (before.tickets, before.pages)
        assert await held(runtime, targets) == {t: [] for t in targets}
    finally:
        for workflow_id in (occurrence, key):
            if not workflow_id:
                continue
            handle = temporal_client.get_workflow_handle(workflow_id)
            with contextlib.suppress(Exception):  # cleanup must not hide the test's own failure
                if (await handle.describe()).status is WorkflowExecutionStatus.RUNNING:
                    await handle.terminate("test over")
