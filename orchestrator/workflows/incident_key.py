"""IncidentKeyWorkflow: one per incident key; opens, feeds and remembers its occurrences.

Every signal for a key (service + SLO) is signal-with-started on this workflow, whose id is the
key's (``<prefix>-<service>--<slo>``). It holds the key's closed-alert memory
(:mod:`orchestrator.domain.alert_memory`) and decides, signal by signal, in arrival order:

- **open**: start a new occurrence (an ``IncidentWorkflow`` child with its own id,
  ``<key>--<UTC time>``), the signal as its first;
- **join**: send the signal to the open occurrence (at most one is open per key);
- **ignore**: record it (a redelivery of a resolved alert, a stale resolution, a resolution with
  nothing open) and act on nothing.

When an occurrence ends, the signals it received after it had finished come back here, so a
firing one opens the next occurrence. With no occurrence open, the workflow ends once the memory
window has passed without a signal (a later signal starts it afresh); it continues as new when its
history grows long and no occurrence is open.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ChildWorkflowError, FailureError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.playbook import Playbook, PlaybookLibrary
    from orchestrator.domain.signals import BreachSignal, SignalStatus
    from orchestrator.workflows.auditing import Auditor
    from orchestrator.workflows.inbound import PATCH_BAD_SIGNALS, decode_breach, record_bad_signal
    from orchestrator.workflows.incident import IncidentWorkflow
    from orchestrator.workflows.key_types import (
        KEEP_OCCURRENCES,
        KeyInput,
        KeyState,
        Occurrence,
    )
    from orchestrator.workflows.types import (
        INCIDENT_KEY_WORKFLOW,
        QUERY_KEY,
        SIGNAL_BREACH,
        IncidentInput,
        IncidentState,
    )


def occurrence_id(key: str, stamp: str, opened: int, last: str | None) -> str:
    """``<key>--<yyyymmdd-hhmmss>``; a second opened within the same second gets ``-<n>``."""
    base = f"{key}--{stamp}"
    return base if last is None or not last.startswith(base) else f"{base}-{opened + 1}"


@workflow.defn(name=INCIDENT_KEY_WORKFLOW)
class IncidentKeyWorkflow:
    @workflow.init
    def __init__(self, inp: KeyInput) -> None:
        self._inp = inp
        self._state = inp.carried or KeyState(
            key=inp.key, service=inp.service.name, slo=inp.slo.name
        )
        self._inbox: list[BreachSignal] = []
        self._child: ChildWorkflowHandle[IncidentWorkflow, IncidentState] | None = None
        self._auditor = Auditor(
            IncidentState(incident_id=inp.key, service=inp.service.name, slo=inp.slo.name)
        )
        self._auditor.open()
        self._record_bad = workflow.patched(PATCH_BAD_SIGNALS)

    @workflow.signal(name=SIGNAL_BREACH)
    def breach(self, raw: RawValue) -> None:
        decoded = decode_breach(raw)
        if isinstance(decoded, BreachSignal):
            self._inbox.append(decoded)
        elif self._record_bad:
            self._state.bad_signals += 1
            record_bad_signal(self._auditor, decoded)

    @workflow.query(name=QUERY_KEY)
    def key_state(self) -> KeyState:
        return self._state

    @workflow.run
    async def run(self, inp: KeyInput) -> KeyState:
        auditing = asyncio.create_task(self._auditor.run())
        memory = timedelta(seconds=inp.memory_seconds)
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._child_done(), timeout=self._quiet(memory)
                )
            except TimeoutError:
                if self._child is None and not self._inbox:
                    break
            if self._child_done():
                await self._closed()
            await self._take_inbox()
            if self._child is None and not self._inbox:
                self._state.memory.expire(workflow.now(), memory)
                if workflow.info().is_continue_as_new_suggested():
                    self._auditor.close()
                    await auditing
                    workflow.continue_as_new(inp.model_copy(update={"carried": self._state}))
        self._auditor.close()
        await auditing
        return self._state

    def _quiet(self, memory: timedelta) -> timedelta | None:
        """While nothing is open: how long until the memory window has passed in quiet."""
        if self._child is not None or self._state.last_activity is None:
            return None if self._child is not None else memory
        left = self._state.last_activity + memory - workflow.now()
        return max(left, timedelta(0))

    def _child_done(self) -> bool:
        return self._child is not None and self._child.done()

    async def _take_inbox(self) -> None:
        """Decide on every waiting signal in arrival order; signals for the open occurrence are
        sent together (Temporal keeps their order). If it ended meanwhile, its result is taken
        and what it did not get (and what came after) is decided on again, in order."""
        while self._inbox:
            batch, self._inbox = self._inbox, []
            sending: list[tuple[BreachSignal, asyncio.Task[None]]] = []
            opening: list[BreachSignal] = []
            """The signals the new occurrence starts with: they arrived together, and are
            weighed together (the worst sets the severity)."""
            for at, signal in enumerate(batch):
                if self._child is not None and self._child.done():
                    self._inbox = [*await self._send(sending), *batch[at:], *self._inbox]
                    sending = []
                    await self._closed()
                    break
                admission = self._admit(signal, bool(opening))
                if admission == "join" and opening:
                    opening.append(signal)
                elif admission == "join" and self._child is not None:
                    task = asyncio.create_task(self._child.signal(SIGNAL_BREACH, signal))
                    sending.append((signal, task))
                elif admission == "open":
                    opening = [signal]
            if opening:
                await self._open(opening)
            undelivered = await self._send(sending)
            if undelivered:
                self._inbox = [*undelivered, *self._inbox]
                assert self._child is not None
                await workflow.wait_condition(self._child.done)
                await self._closed()

    async def _send(
        self, sending: list[tuple[BreachSignal, asyncio.Task[None]]]
    ) -> list[BreachSignal]:
        """Wait for the signals sent; those the occurrence did not take (it ended) are returned."""
        undelivered: list[BreachSignal] = []
        for signal, task in sending:
            try:
                await task
            except FailureError:
                undelivered.append(signal)
        return undelivered

    def _admit(self, signal: BreachSignal, opening: bool = False) -> str:
        state = self._state
        state.signals += 1
        state.last_activity = workflow.now()
        admission = state.memory.admit(signal, open_occurrence=self._child is not None or opening)
        state.memory.note(signal, workflow.now())
        if admission.kind == "ignore":
            state.ignored += 1
            self._auditor.record(
                AuditKind.NOTE,
                f"{signal.status.value} signal from {signal.source} ignored: {admission.reason}",
                {"signal": signal.model_dump(mode="json"), "ignored": admission.reason},
                key=f"ignored/{signal.dedupe_key}",
                actor=signal.actor or signal.source,
            )
        if admission.kind == "open" and signal.status is not SignalStatus.FIRING:
            return "ignore"
        return admission.kind

    def _candidates(self, signal: BreachSignal) -> tuple[Playbook, ...]:
        """The occurrence's playbooks: the one a person named (checked at the edge), else
        every playbook for the SLO's dimension."""
        inp = self._inp
        library = PlaybookLibrary(playbooks=inp.playbooks)
        if signal.playbook:
            return (library.by_name(signal.playbook),)
        return library.candidates_for(inp.service.name, inp.slo.dimension)

    async def _open(self, signals: list[BreachSignal]) -> None:
        state, inp = self._state, self._inp
        signal = signals[0]
        stamp = workflow.now().strftime("%Y%m%d-%H%M%S")
        last = state.occurrences[-1].id if state.occurrences else None
        occurrence = occurrence_id(inp.key, stamp, state.opened, last)
        self._child = await workflow.start_child_workflow(
            IncidentWorkflow.run,
            IncidentInput(
                incident_id=occurrence,
                service=inp.service,
                slo=inp.slo,
                candidates=self._candidates(signal),
                kill_switch=inp.kill_switch,
                key=inp.key,
                initial=tuple(signals),
            ),
            id=occurrence,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        state.opened += 1
        state.open = occurrence
        state.occurrences = [
            *state.occurrences[-(KEEP_OCCURRENCES - 1) :],
            Occurrence(id=occurrence, opened_at=workflow.now()),
        ]
        self._auditor.record(
            AuditKind.NOTE,
            f"occurrence {occurrence} opened by a {signal.source} signal",
            {"occurrence": occurrence, "key": inp.key},
            key=f"opened/{occurrence}",
        )

    async def _closed(self) -> None:
        """The open occurrence ended: record how, and take up what it received too late."""
        child, self._child = self._child, None
        assert child is not None
        state = self._state
        late: list[BreachSignal] = []
        phase = "failed"
        try:
            result = await child
            phase = result.phase.value
            late = list(result.late_signals)
        except ChildWorkflowError as exc:
            phase = f"ended ({exc.retry_state or 'terminated'})"
        for record in state.occurrences:
            if record.id == state.open:
                record.closed_at = workflow.now()
                record.phase = phase
        state.open = None
        state.memory.closed()
        self._inbox[:0] = late
