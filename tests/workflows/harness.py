"""Driving incidents on the time-skipping server: submit, wait for a phase, decide, read effects."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.client import control as incident_control
from orchestrator.client import occurrences
from orchestrator.client.queries import incident_state
from orchestrator.client.submission import SubmitResult
from orchestrator.client.submitter import TemporalSubmitter, submitter_for
from orchestrator.domain.flags import EvalContext
from orchestrator.domain.keys import incident_key
from orchestrator.domain.ops_models import Page, ReviewTicket
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, SignalStatus
from orchestrator.errors import NotFoundError, TemporalUnavailableError
from orchestrator.providers.local_ops import LocalOps, local_ops
from orchestrator.workflows.key_types import KeyState
from orchestrator.workflows.types import (
    ControlAck,
    IncidentPhase,
    IncidentState,
    StepRecord,
)
from tests.workflows.helpers import occurrence_of, settled
from workers.runtime import Runtime

SIGNAL_TAKEN_SECONDS = 30.0
"""How long :meth:`Harness.submit` waits for the key's workflow to take a signal up."""


class Harness:
    def __init__(self, env: WorkflowEnvironment, runtime: Runtime) -> None:
        self.env = env
        self.runtime = runtime
        self.client: Client = env.client
        self.started: set[str] = set()
        self._recorded: set[tuple[str, str]] = set()

    async def close(self) -> None:
        """End what is still running, the way a person would (abort): the time-skipping server is
        shared by all tests, and a workflow left waiting (or a terminated one, whose timers the
        test server still fires) would hold its clock still for the next test."""
        keys = {
            i.rsplit("--", 1)[0] if occurrences.is_occurrence_id(i) else i for i in self.started
        }
        for incident_id in self.started:
            with contextlib.suppress(Exception):
                await incident_control.abort(self.client, incident_id, by="test", reason="over")
            with contextlib.suppress(Exception):
                await self.result(incident_id)
        for key in keys:  # each key's workflow ends once its memory window has passed
            handle = self.client.get_workflow_handle(key)
            with contextlib.suppress(Exception):
                async with self.unlocked():
                    await asyncio.wait_for(handle.result(), timeout=60)
        for workflow_id in sorted(self.started | keys):
            await self._record(workflow_id, "final")

    async def _record(self, workflow_id: str, stage: str) -> None:
        """With ORCHESTRATOR_RECORD_HISTORIES=<folder>, keep the workflow's history there (how
        tests/replay/histories/ is made: see its README)."""
        folder = os.environ.get("ORCHESTRATOR_RECORD_HISTORIES")
        if not folder or (workflow_id, stage) in self._recorded:
            return
        self._recorded.add((workflow_id, stage))
        test = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
        module, _, name = test.rpartition("::")
        kind = "key" if not occurrences.is_occurrence_id(workflow_id) else "occurrence"
        index = sorted(self.started | {workflow_id}).index(workflow_id)
        stem = f"{Path(module).stem}--{name}--{kind}{index}-{stage}".replace("/", "_")
        with contextlib.suppress(Exception):
            history = await self.client.get_workflow_handle(workflow_id).fetch_history()
            path = Path(folder) / f"{stem[:150]}.json.gz"
            path.write_bytes(gzip.compress(history.to_json().encode()))

    def submitter(self, library: PlaybookLibrary | None = None) -> TemporalSubmitter:
        runtime = self.runtime
        return submitter_for(
            self.client, runtime.settings, runtime.catalog, library or runtime.library
        )

    async def submit(
        self, signal: BreachSignal, library: PlaybookLibrary | None = None, *, wait: bool = True
    ) -> str:
        """Submit; the id of the occurrence the signal opened or joined (the key's id when it
        opened none). ``wait=False`` (no worker runs yet): the key's id, at once."""
        before = await self._key(signal, library) if wait else None
        result: SubmitResult = await self.submitter(library).submit(signal)
        key = result.incident_id
        self.started.add(key)
        if not wait:
            return key
        # By the clock, not a count of polls: on a busy machine the key's first workflow task
        # (a new sandbox, the playbooks decoded) can take seconds (CI saw one over 4 s).
        deadline = time.monotonic() + SIGNAL_TAKEN_SECONDS
        while time.monotonic() < deadline:
            try:
                state = await occurrences.key_state(self.client, key)
            except TemporalUnavailableError:  # no worker yet: the signal waits in Temporal
                return key
            taken = state is not None and state.signals > (before.signals if before else 0)
            ignored = state is not None and state.ignored > (before.ignored if before else 0)
            firing = signal.status is SignalStatus.FIRING
            # An occurrence this signal opened may already have ended between two polls (a step
            # failing at once): the key's latest occurrence is then the one it opened.
            opened = state is not None and state.opened > (before.opened if before else 0)
            ended = state.occurrences[-1].id if opened and state and state.occurrences else None
            if state is not None and taken and (state.open or ended or ignored or not firing):
                occurrence = state.open or ended or key
                self.started.add(occurrence)
                return occurrence
            await asyncio.sleep(0.02)
        raise AssertionError(f"the key {key} never took the signal up")

    async def _key(
        self, signal: BreachSignal, library: PlaybookLibrary | None = None
    ) -> KeyState | None:
        runtime = self.runtime
        books = library or runtime.library
        key = incident_key(signal, runtime.catalog, books, runtime.settings.workflow_id_prefix)
        try:
            return await occurrences.key_state(self.client, key)
        except NotFoundError:
            return None

    async def key(self, incident_id: str) -> KeyState:
        if occurrences.is_occurrence_id(incident_id):
            incident_id = incident_id.rsplit("--", 1)[0]
        state = await occurrences.key_state(self.client, incident_id)
        assert state is not None
        return state

    async def state(self, incident_id: str) -> IncidentState:
        return await incident_state(self.client, incident_id)

    async def until(
        self, incident_id: str, *phases: IncidentPhase, step: str | None = None, runs: int = 1
    ) -> IncidentState:
        """Poll (in real time: the clock stands still meanwhile) until the incident is in one of
        ``phases`` and, when given, ``step`` has ended ``runs`` times (a re-planned incident runs
        its playbook again)."""
        last: IncidentState | None = None
        for _ in range(600):
            try:
                last = await self.state(incident_id)
            except Exception:
                last = None
            if last is not None and last.phase in phases:
                ended = step is None or runs <= sum(
                    1 for s in last.steps if s.id == step and s.status != "running"
                )
                if ended:
                    if not last.phase.finished:
                        await self._record(last.incident_id, "open")
                    return last
            await asyncio.sleep(0.05)
        raise AssertionError(f"{incident_id} never reached {phases} (step {step}); last: {last}")

    async def result(self, incident_id: str) -> IncidentState:
        """The final state; time skips ahead while waiting for it."""
        incident_id = await occurrence_of(self.client, incident_id)
        handle = self.client.get_workflow_handle(incident_id, result_type=IncidentState)
        # A handle from get_workflow_handle does not unlock time skipping by itself (only those
        # from the environment's start_workflow do): unlock it the same way they do.
        async with self.unlocked():
            return await asyncio.wait_for(handle.result(), timeout=120)

    def unlocked(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Let time skip on the time-skipping server; on a real server, time runs anyway."""
        unlock = getattr(self.env, "time_skipping_unlocked", None)
        return unlock() if unlock is not None else contextlib.nullcontext()

    async def skip(self, seconds: float) -> None:
        await self.env.sleep(timedelta(seconds=seconds))

    async def approve(self, incident_id: str, by: str, step: str | None = None) -> ControlAck:
        return await incident_control.approve(self.client, incident_id, by=by, step=step)

    async def deny(self, incident_id: str, by: str) -> ControlAck:
        return await incident_control.deny(self.client, incident_id, by=by, reason="not now")

    async def timeline(self, incident_id: str) -> list[StoredEvent]:
        """The audit events, once every event the incident recorded so far has landed."""
        events: list[StoredEvent] = []
        for _ in range(200):
            recorded = (await self.state(incident_id)).audit_events
            try:
                events = await self.runtime.audit.timeline(incident_id)
            except NotFoundError:  # none landed yet: the audit follows the first change
                events = []
            if len(events) >= recorded:
                return events
            await asyncio.sleep(0.05)
        raise AssertionError(f"only {len(events)} audit events of {incident_id} landed")

    async def kinds(self, incident_id: str) -> list[AuditKind]:
        return [e.kind for e in await self.timeline(incident_id)]

    async def served(self, flag: str, attribute: str, value: str) -> object:
        context = EvalContext(kind="user", key=f"u-{value}", attributes={attribute: value})
        return (await self.runtime.evaluator.evaluate(flag, context)).value

    async def served_eventually(self, flag: str, attribute: str, value: str, expect: str) -> object:
        return await settled(
            lambda: self.served(flag, attribute, value), lambda got: got == expect, tries=60
        )

    # -- what the incident did, read from the providers and the audit history -------------------

    @property
    def local(self) -> LocalOps:
        return local_ops(self.runtime.settings.state_dir)

    async def applied(self, incident_id: str, step: str) -> int:
        """How many times the step's effect was applied (undos not counted)."""
        return sum(
            1
            for e in await self.timeline(incident_id)
            if e.kind is AuditKind.EFFECT_APPLIED
            and e.data.get("step") == step
            and not e.data.get("undo")
        )

    async def undone(self, incident_id: str, step: str) -> bool:
        return any(
            e.kind is AuditKind.EFFECT_APPLIED and e.data.get("step") == step and e.data.get("undo")
            for e in await self.timeline(incident_id)
        )

    async def events(self, incident_id: str, kind: AuditKind) -> list[StoredEvent]:
        return [e for e in await self.timeline(incident_id) if e.kind is kind]

    async def pages(self) -> list[Page]:
        return sorted(await self.local.pager.all(), key=lambda p: int(p.id.split("-")[1]))

    async def page_purposes(self) -> list[str]:
        return [str(p.details.get("purpose", p.details.get("step"))) for p in await self.pages()]

    async def paged(self, *purposes: str) -> list[str]:
        """The pages' purposes once each of ``purposes`` is among them (a few seconds at most):
        a page is scheduled as the phase turns and lands a moment later."""
        return await settled(self.page_purposes, lambda got: all(p in got for p in purposes))

    async def version(self, component: str) -> str:
        return (await self.local.deploy.state(SERVICE, component)).version

    async def replicas(self, component: str) -> int:
        return (await self.local.deploy.state(SERVICE, component)).replicas

    async def frozen(self, component: str) -> bool:
        return bool(await self.local.freezes.active(SERVICE, component, datetime.now(UTC)))

    async def reviews(self) -> list[ReviewTicket]:
        return await self.local.tickets.all()

    async def step(self, incident_id: str, step_id: str) -> StepRecord:
        """The last record of the step (a re-planned incident may run a step id twice)."""
        state = await self.state(incident_id)
        return [s for s in state.steps if s.id == step_id][-1]


SERVICE = "support-assistant"
