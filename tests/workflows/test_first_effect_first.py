"""The first mitigating change goes out alone: the incident's audit writes wait until it is made.

What the people affected wait for is the first change; the decisions before it (signal received,
severity, playbook) are held in the workflow's history meanwhile and written right after it, all
of them (issue 15).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from orchestrator.activities.types import APPLY_FLAG_CHANGE, RECORD_AUDIT_EVENTS
from orchestrator.audit.model import AuditKind
from orchestrator.workflows.types import IncidentPhase
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach

SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
COMPLETED = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED


async def test_audit_is_written_after_the_first_change_not_beside_it(harness: Harness) -> None:
    inc = await harness.submit(breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2))
    await harness.until(inc, IncidentPhase.MONITORING)
    history = await harness.client.get_workflow_handle(inc).fetch_history()
    scheduled: dict[int, str] = {}
    order: list[tuple[str, str]] = []
    for event in history.events:
        if event.event_type == SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = name
            order.append(("scheduled", name))
        elif event.event_type == COMPLETED:
            done = event.activity_task_completed_event_attributes.scheduled_event_id
            order.append(("completed", scheduled[done]))
    first_change = order.index(("completed", APPLY_FLAG_CHANGE))
    first_audit = order.index(("scheduled", RECORD_AUDIT_EVENTS))
    assert order[0] == ("scheduled", APPLY_FLAG_CHANGE)
    assert first_audit > first_change
    kinds = await harness.kinds(inc)
    for kind in (
        AuditKind.SIGNAL_RECEIVED,
        AuditKind.INCIDENT_OPENED,
        AuditKind.SEVERITY_CLASSIFIED,
        AuditKind.PLAYBOOK_SELECTED,
        AuditKind.EFFECT_APPLIED,
    ):
        assert kind in kinds
