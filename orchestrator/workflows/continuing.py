"""Continue-as-new for an occurrence: bounded history, whatever the incident goes through.

A flapping alert adds a few dozen events to the history per flap; without an end to it an open
incident would grow toward Temporal's limits (a warning at 10,240 events, termination at 51,200).
So an occurrence whose history has passed ``continue_after`` events (or that Temporal
suggests should continue) continues as new at its next quiet point: monitoring, with no step,
approval or undo in flight. It first lets its audit loop drain, then hands the next run what it
knows (:class:`~orchestrator.workflows.types.Carried`): its state and effects, the trigger, the
playbook, the deadline, the signals it has seen and the alerts still firing. The next run goes
straight back to monitoring. The occurrence keeps its id, so its key's workflow, the CLI and the
idempotency keys of its effects see one incident; search attributes carry over.
"""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from orchestrator.domain.playbook import Playbook
    from orchestrator.domain.severity import Severity
    from orchestrator.workflows.auditing import MAX_BATCH, Auditor
    from orchestrator.workflows.firing import FiringAlerts
    from orchestrator.workflows.key_types import OccurrenceEnded
    from orchestrator.workflows.live import Live
    from orchestrator.workflows.types import (
        KEEP_SEEN,
        KEEP_SIGNALS,
        SIGNAL_OCCURRENCE_ENDED,
        Carried,
        IncidentInput,
        IncidentPhase,
        IncidentState,
    )


MAX_CARRIED_EVENTS = MAX_BATCH
"""Audit events a run hands to the next at most (it writes a longer backlog first)."""


def due(live: Live) -> bool:
    """True when the run should continue as new at this quiet point."""
    if not live.may_continue:
        return False
    info = workflow.info()
    return (
        info.get_current_history_length() >= live.inp.continue_after
        or info.is_continue_as_new_suggested()
    )


def carry(
    live: Live,
    auditor: Auditor,
    playbook: Playbook,
    seen: dict[str, None],
    alerts: FiringAlerts,
) -> Carried:
    """What the next run needs, taken when the audit loop has drained (any event recorded after
    that travels with it)."""
    assert live.trigger is not None
    assert live.deadline is not None
    state = live.state.model_copy(update={"phase": IncidentPhase.MONITORING})
    return Carried(
        state=state,
        trigger=live.trigger,
        playbook=playbook,
        signals=live.signals[-KEEP_SIGNALS:],
        launcher=live.launcher,
        quiet_since=live.quiet_since,
        deadline=live.deadline,
        seen=list(seen)[-KEEP_SEEN:],
        active=sorted(alerts.active),
        order=alerts.order,
        unwritten=auditor.leftover(),
    )


def restore(live: Live, carried: Carried) -> None:
    """Take up where the previous run stopped (the state itself was handed over whole)."""
    live.trigger = carried.trigger
    live.signals = list(carried.signals)
    live.playbook = carried.playbook
    live.launcher = carried.launcher
    live.quiet_since = carried.quiet_since
    live.deadline = carried.deadline
    live.severity = Severity(carried.state.severity) if carried.state.severity else None
    live.upserted_as_carried()


def next_input(inp: IncidentInput, carried: Carried) -> IncidentInput:
    carried.state.runs += 1
    return inp.model_copy(update={"initial": (), "carried": carried})


async def continue_as_new(
    live: Live,
    auditor: Auditor,
    auditing: asyncio.Task[None],
    playbook: Playbook,
    seen: dict[str, None],
    alerts: FiringAlerts,
) -> None:
    """Drain the audit loop (to a short backlog) and the handlers, then continue as new (never
    returns)."""
    await workflow.wait_condition(lambda: auditor.backlog <= MAX_CARRIED_EVENTS)
    auditor.stop()
    await auditing
    await workflow.wait_condition(workflow.all_handlers_finished)
    carried = carry(live, auditor, playbook, seen, alerts)
    workflow.continue_as_new(next_input(live.inp, carried))


async def report_end(inp: IncidentInput, state: IncidentState) -> None:
    """Tell the key's workflow how this occurrence ended (when it asked to be told: a key's run
    that continued as new hears of the end only this way)."""
    if not (inp.report_end and inp.key):
        return
    report = OccurrenceEnded(
        id=inp.incident_id, phase=state.phase.value, late_signals=state.late_signals
    )
    key = workflow.get_external_workflow_handle(inp.key)
    with contextlib.suppress(FailureError):  # the key's workflow is gone: nobody to tell
        await key.signal(SIGNAL_OCCURRENCE_ENDED, report)
