"""The first mitigating change goes out first: made by the workflow task the signal reaches.

What the people affected wait for is the first change. The key's workflow makes it in the task
that took the signal, before it starts the occurrence (no child start, no second workflow task in
front of it). The occurrence then runs its playbook as it always has: its step finds the change in
place by its keys and writes nothing, and its records are dated when the key decided and made
the change (issue 15).
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from orchestrator.activities.types import (
    ACTION_REFUSED,
    APPLY_FLAG_CHANGE,
    APPLY_GATED_FLAG_CHANGE,
    RECORD_AUDIT_EVENTS,
)
from orchestrator.audit.model import AuditKind
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach, recovered

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
COMPLETED = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
FAILED = EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
TASK_COMPLETED = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
TASK_STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
CHILD = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
ROUTE = "route-segment-to-humans"


def activities(events: Sequence[HistoryEvent]) -> list[tuple[str, str, int]]:
    """(scheduled or completed, activity type, event id) in history order."""
    scheduled: dict[int, str] = {}
    order: list[tuple[str, str, int]] = []
    for event in events:
        if event.event_type == SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
            order.append(("scheduled", name, event.event_id))
        elif event.event_type == COMPLETED:
            done = event.activity_task_completed_event_attributes.scheduled_event_id
            order.append(("completed", scheduled[done], event.event_id))
    return order


async def test_the_first_change_is_made_by_the_task_the_signal_reaches(harness: Harness) -> None:
    """The key workflow's first task (the one that took the signal) schedules the flag change,
    which asks the safety ledger itself (no local activity, no second task before it); the
    occurrence starts once it is made, and records it as its own step, once."""
    inc = await harness.submit(breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2))
    state = await harness.until(inc, IncidentPhase.MONITORING)
    key = await harness.client.get_workflow_handle(state.key).fetch_history()
    first_task = next(e.event_id for e in key.events if e.event_type == TASK_COMPLETED)
    order = activities(key.events)
    assert order[0][:2] == ("scheduled", APPLY_GATED_FLAG_CHANGE)
    second_task = next(
        e.event_id for e in key.events if e.event_type == TASK_STARTED and e.event_id > first_task
    )
    assert first_task < order[0][2] < second_task  # a command of the first task
    markers = [e.marker_recorded_event_attributes.marker_name for e in key.events[:second_task]]
    assert "core_local_activity" not in markers  # the ledger was asked by the activity
    assert not any(name == RECORD_AUDIT_EVENTS for _, name, _ in order[:2])
    made = next(
        i for kind, name, i in order if (kind, name) == ("completed", APPLY_GATED_FLAG_CHANGE)
    )
    started = next(e.event_id for e in key.events if e.event_type == CHILD)
    assert made < started

    # The occurrence's own step ran (its first activity, the audit after it) and found the
    # change in place: the fake flag store saw one write, and the step's outcome is the key's.
    occurrence = await harness.client.get_workflow_handle(inc).fetch_history()
    own = activities(occurrence.events)
    assert own[0][:2] == ("scheduled", APPLY_FLAG_CHANGE)
    made_here = next(i for i, (k, name, _) in enumerate(own) if k == "completed")
    assert own[made_here][1] == APPLY_FLAG_CHANGE
    assert made_here < next(i for i, (_, name, _) in enumerate(own) if name == RECORD_AUDIT_EVENTS)
    flag = await harness.runtime.flags.get_flag("support-assistant-answer-mode")
    assert flag.version == 2  # one write (the key's), from version 1
    step = await harness.step(inc, ROUTE)
    assert step.status == "done"
    [effect] = [e for e in state.effects if e.step_id == ROUTE]
    assert effect.undo is not None and effect.undo.holding
    assert await harness.applied(inc, ROUTE) == 1
    # Dated as it happened: opened when the key took the signal, changed when the key's
    # activity returned (before the occurrence's own step ran).
    timeline = await harness.timeline(inc)
    opened = next(e for e in timeline if e.kind is AuditKind.INCIDENT_OPENED)
    applied = next(e for e in timeline if e.kind is AuditKind.EFFECT_APPLIED)
    [noted] = [e for e in timeline if e.kind is AuditKind.NOTE and e.data.get("by") == "key"]
    assert noted.data["step"] == ROUTE and noted.data["status"] == "done"
    assert opened.at < applied.at == noted.at
    assert state.opened_at == opened.at
    kinds = [e.kind for e in timeline]
    for kind in (
        AuditKind.SIGNAL_RECEIVED,
        AuditKind.INCIDENT_OPENED,
        AuditKind.SEVERITY_CLASSIFIED,
        AuditKind.PLAYBOOK_SELECTED,
        AuditKind.EFFECT_APPLIED,
    ):
        assert kind in kinds
    assert await harness.served("support-assistant-answer-mode", "language", "es") == "human-queue"

    await harness.submit(recovered("language-gap"))
    final = await harness.result(inc)
    assert final.phase is IncidentPhase.RESOLVED
    assert await harness.undone(inc, ROUTE)
    assert await harness.served_eventually(
        "support-assistant-answer-mode", "language", "es", "assistant"
    )


async def test_a_first_change_the_ledger_refuses_is_left_to_the_occurrence(
    make_harness: HarnessFactory,
) -> None:
    """The key's gated activity, refused (this worker's kill switch), changes nothing and is read
    as the ledger's no: the key hands the occurrence no first change (no note of one, no failure
    taken as its step's first attempt), and the occurrence's own gate refuses the step."""
    async with make_harness(kill_switch=True) as harness:
        inc = await harness.submit(breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2))
        state = await harness.until(inc, IncidentPhase.MONITORING)
        key = await harness.client.get_workflow_handle(state.key).fetch_history()
        [failed] = [e for e in key.events if e.event_type == FAILED]
        assert (
            failed.activity_task_failed_event_attributes.failure.application_failure_info.type
            == (ACTION_REFUSED)
        )
        assert activities(key.events)[0][:2] == ("scheduled", APPLY_GATED_FLAG_CHANGE)
        step = await harness.step(inc, ROUTE)
        assert step.status == "skipped" and step.detail.startswith("kill switch on")
        timeline = await harness.timeline(inc)
        assert not [e for e in timeline if e.data.get("by") == "key"]  # nothing made by the key
        assert (await harness.runtime.flags.get_flag("support-assistant-answer-mode")).rules == ()
