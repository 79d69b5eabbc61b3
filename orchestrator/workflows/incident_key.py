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
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ChildWorkflowError, FailureError
from temporalio.workflow import ChildWorkflowHandle, ExternalWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.playbook import Playbook, PlaybookLibrary
    from orchestrator.domain.signals import BreachSignal, SignalStatus
    from orchestrator.workflows.auditing import Auditor
    from orchestrator.workflows.first import PATCH_FIRST_CHANGE
    from orchestrator.workflows.first_gated import PATCH_GATED_FIRST
    from orchestrator.workflows.inbound import PATCH_BAD_SIGNALS, decode_breach, record_bad_signal
    from orchestrator.workflows.incident import IncidentWorkflow
    from orchestrator.workflows.key_types import (
        KEEP_OCCURRENCES,
        KeyInput,
        KeyState,
        Occurrence,
        OccurrenceEnded,
    )
    from orchestrator.workflows.patches import deciding_ahead, patched
    from orchestrator.workflows.types import (
        INCIDENT_KEY_WORKFLOW,
        QUERY_KEY,
        SIGNAL_BREACH,
        SIGNAL_OCCURRENCE_ENDED,
        IncidentInput,
        IncidentState,
    )

PATCH_KEY_CONTINUES = "key-continues"
PATCH_MID_BURST = "key-continues-mid-burst"
"""A run may continue as new between two batches of a burst, not only once the burst is over."""
GONE_AFTER = timedelta(minutes=1)
"""How long a continued run waits for the report of an occurrence that took no more signals."""


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
        self._inbox: list[BreachSignal] = list(inp.pending)
        """Signals to decide on, in arrival order (a continued run starts with those its
        previous run had not decided on yet)."""
        self._child: ChildWorkflowHandle[IncidentWorkflow, IncidentState] | None = None
        """The open occurrence when this run started it (a continued run signals it by id)."""
        self._reports: dict[str, OccurrenceEnded] = {r.id: r for r in inp.reports}
        self._auditor = Auditor(
            IncidentState(incident_id=inp.key, service=inp.service.name, slo=inp.slo.name),
            inp.unwritten,
        )
        self._auditor.open()
        self._record_bad = patched(PATCH_BAD_SIGNALS)
        self._continues = patched(PATCH_KEY_CONTINUES)
        self._first_change = workflow.patched(PATCH_FIRST_CHANGE)
        """The first mitigating change is made here, before the occurrence starts (issue 15)."""
        self._gated_first = self._first_change and workflow.patched(PATCH_GATED_FIRST)
        """A first flag change asks the safety ledger in its own activity."""
        self._auditing: asyncio.Task[None] | None = None

    @workflow.signal(name=SIGNAL_BREACH)
    def breach(self, raw: RawValue) -> None:
        decoded = decode_breach(raw)
        if isinstance(decoded, BreachSignal):
            self._inbox.append(decoded)
        elif self._record_bad:
            self._state.bad_signals += 1
            record_bad_signal(self._auditor, decoded)

    @workflow.signal(name=SIGNAL_OCCURRENCE_ENDED)
    def occurrence_ended(self, report: OccurrenceEnded) -> None:
        if report.id == self._state.open:
            self._reports[report.id] = report

    @workflow.query(name=QUERY_KEY)
    def key_state(self) -> KeyState:
        return self._state

    @workflow.run
    async def run(self, inp: KeyInput) -> KeyState:
        auditing = self._auditing = asyncio.create_task(self._auditor.run())
        memory = timedelta(seconds=inp.memory_seconds)
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._child_done() or self._continue_due(),
                    timeout=self._quiet(memory),
                )
            except TimeoutError:
                if not self._is_open() and not self._inbox:
                    break
            if self._child_done():
                await self._closed()
            await self._take_inbox()
            if not self._is_open() and not self._inbox:
                self._state.memory.expire(workflow.now(), memory)
                if workflow.info().is_continue_as_new_suggested():
                    await self._continue_as_new()
            if self._continue_due() and not self._inbox:
                await self._continue_as_new()
        self._auditor.close()
        await auditing
        return self._state

    def _is_open(self) -> bool:
        return self._state.open is not None

    def _continue_due(self) -> bool:
        """Continue as new now? (a long history, and no occurrence open that would not tell
        the next run it has ended)."""
        if not self._continues:
            return False
        info = workflow.info()
        if info.get_current_history_length() < self._inp.continue_after:
            return info.is_continue_as_new_suggested() and not self._is_open()
        record = next((o for o in self._state.occurrences if o.id == self._state.open), None)
        return record is None or record.reports_end

    async def _continue_as_new(self) -> None:
        """Drain the audit loop and the handlers, then continue as new with what this run has
        not decided on yet (never returns)."""
        assert self._auditing is not None
        self._auditor.close()
        await self._auditing
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            self._inp.model_copy(
                update={
                    "carried": self._state,
                    "pending": tuple(self._inbox),
                    "reports": tuple(self._reports.values()),
                    "unwritten": tuple(self._auditor.leftover()),
                }
            )
        )

    def _quiet(self, memory: timedelta) -> timedelta | None:
        """While nothing is open: how long until the memory window has passed in quiet."""
        if self._is_open() or self._state.last_activity is None:
            return None if self._is_open() else memory
        left = self._state.last_activity + memory - workflow.now()
        return max(left, timedelta(0))

    def _child_done(self) -> bool:
        """The open occurrence has ended: this run's child completed or, for an occurrence an
        earlier run opened, its end report came."""
        open_id = self._state.open
        if open_id is None:
            return False
        if self._child is not None:
            return self._child.done()  # its result is the authority (the report is a copy)
        return open_id in self._reports

    def _open_handle(self) -> ChildWorkflowHandle[Any, Any] | ExternalWorkflowHandle[Any]:
        if self._child is not None:
            return self._child
        assert self._state.open is not None
        return workflow.get_external_workflow_handle(self._state.open)

    async def _take_inbox(self) -> None:
        """Decide on every waiting signal in arrival order; signals for the open occurrence are
        sent together (Temporal may deliver those in any order: the occurrence orders alert
        instances by their start times). If it ended meanwhile, its result is taken
        and what it did not get (and what came after) is decided on again, in order."""
        while self._inbox:
            if self._continue_due() and patched(PATCH_MID_BURST):
                # a sustained burst: the signals still to decide on go to the next run
                await self._continue_as_new()
            batch, self._inbox = self._inbox, []
            sending: list[tuple[BreachSignal, asyncio.Task[None]]] = []
            opening: list[BreachSignal] = []
            """The signals the new occurrence starts with: they arrived together, and are
            weighed together (the worst sets the severity)."""
            for at, signal in enumerate(batch):
                if self._child_done():
                    self._inbox = [*await self._send(sending), *batch[at:], *self._inbox]
                    sending = []
                    await self._closed()
                    break
                admission = self._admit(signal, bool(opening))
                if admission == "join" and opening:
                    opening.append(signal)
                elif admission == "join" and self._is_open():
                    task = asyncio.create_task(self._open_handle().signal(SIGNAL_BREACH, signal))
                    sending.append((signal, task))
                elif admission == "open":
                    opening = [signal]
            if opening:
                await self._open(opening)
            undelivered = await self._send(sending)
            if undelivered:
                self._inbox = [*undelivered, *self._inbox]
                await self._until_closed()
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
        admission = state.memory.admit(signal, open_occurrence=self._is_open() or opening)
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
        child = IncidentInput(
            incident_id=occurrence,
            service=inp.service,
            slo=inp.slo,
            candidates=self._candidates(signal),
            kill_switch=inp.kill_switch,
            key=inp.key,
            initial=tuple(signals),
            report_end=self._continues,
            continue_after=inp.continue_after,
        )
        if self._first_change:
            with deciding_ahead():
                opening = IncidentWorkflow(child)
            first = await opening.first_change(gated=self._gated_first)
            child = child.model_copy(update={"first": first}) if first else child
        self._child = await workflow.start_child_workflow(
            IncidentWorkflow.run,
            child,
            id=occurrence,
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        state.opened += 1
        state.open = occurrence
        state.occurrences = [
            *state.occurrences[-(KEEP_OCCURRENCES - 1) :],
            Occurrence(id=occurrence, opened_at=workflow.now(), reports_end=self._continues),
        ]
        self._auditor.record(
            AuditKind.NOTE,
            f"occurrence {occurrence} opened by a {signal.source} signal",
            {"occurrence": occurrence, "key": inp.key},
            key=f"opened/{occurrence}",
        )

    async def _until_closed(self) -> None:
        """The open occurrence took no more signals: wait for it to end (a continued run, which
        cannot watch it as a child, waits for its report a while, then takes it as gone)."""
        if self._child is not None:
            await workflow.wait_condition(self._child_done)
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._child_done, timeout=GONE_AFTER)

    async def _closed(self) -> None:
        """The open occurrence ended: record how, and take up what it received too late."""
        child, self._child = self._child, None
        state = self._state
        report = self._reports.pop(state.open, None) if state.open else None
        late: list[BreachSignal] = []
        phase = "failed"
        if report is not None and child is None:
            phase, late = report.phase, list(report.late_signals)
        elif child is not None:
            try:
                result = await child
                phase = result.phase.value
                late = list(result.late_signals)
            except ChildWorkflowError as exc:
                phase = f"ended ({exc.retry_state or 'terminated'})"
        else:
            phase = "gone (ended without a report: terminated?)"
        for record in state.occurrences:
            if record.id == state.open:
                record.closed_at = workflow.now()
                record.phase = phase
        state.open = None
        state.memory.closed()
        self._inbox[:0] = late
