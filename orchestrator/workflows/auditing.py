"""The incident's audit trail from workflow code: events queued in order, written by one loop.

Mitigation first: events wait in the queue until the first mitigating effect has been made (runs
started before ``audit-after-first-effect``: until it is scheduled), or the workflow starts waiting
on something (an approval, a hold-down, a recovery), so no audit write ever runs in front of the
mitigation or beside it. Temporal's history holds the queued events durably meanwhile.
Event keys are deterministic (incident, run, a counter or a named key), so a retried audit
activity writes its event once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities.types import RECORD_AUDIT_EVENT, RECORD_AUDIT_EVENTS, SPOOLED
    from orchestrator.audit.model import AuditEvent, AuditKind
    from orchestrator.domain.keys import fit
    from orchestrator.domain.playbook import Playbook
    from orchestrator.domain.policy_plan import is_fast_track
    from orchestrator.domain.severity import SeverityAssessment
    from orchestrator.domain.signals import BreachSignal
    from orchestrator.workflows.patches import patched
    from orchestrator.workflows.types import IncidentState

AUDIT_TIMEOUT = timedelta(seconds=30)
AUDIT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)
"""Audit writes retry (the history holds the event durably meanwhile); after a few attempts the
activity puts the event in the worker's dead-letter spool instead (see ``activities/audit.py``)."""
AUDIT_BUDGET = timedelta(minutes=10)
"""The most an event may wait on the audit, all attempts together; then it is dead-lettered in the
workflow's state (runs started before ``bounded-audit`` retry for ever, as they did)."""
PATCH_BOUNDED_AUDIT = "bounded-audit"
PATCH_BATCHED_AUDIT = "batched-audit"
MAX_BATCH = 100
MAX_BATCH_BYTES = 256 * 1024
"""Events written by one audit activity: at most 100, and no more than 256 KB of them (one
event alone may be larger: a signal carries up to 16 KB of labels), well inside Temporal's 2 MB
payload limit."""
KEEP_DEAD_LETTERS = 50
MAX_EVENT_KEY = 512  # AuditEvent.event_key
KEEP_UNWRITTEN = 20


class Auditor:
    def __init__(self, state: IncidentState, carried: Sequence[AuditEvent] = ()) -> None:
        self._state = state
        self._incident_id = state.incident_id
        self._service = state.service
        self._slo = state.slo
        self._queue: list[AuditEvent] = list(carried)
        """Events to write; a continued run starts with what its previous run recorded last."""
        self._count = state.audit_events
        self._open = False
        self._closing = False
        self._bounded = patched(PATCH_BOUNDED_AUDIT)
        self._batched = patched(PATCH_BATCHED_AUDIT)
        self._stopping = False
        self._dated: datetime | None = None

    @contextmanager
    def dated(self, at: datetime | None) -> Iterator[None]:
        """Record what happens inside at ``at`` (when it is given) instead of the task's time:
        an occurrence records what its key's workflow decided and changed for it when it did."""
        before, self._dated = self._dated, at or self._dated
        try:
            yield
        finally:
            self._dated = before

    def open(self) -> None:
        """Let queued events be written (call right before the first effect, or any wait)."""
        self._open = True

    def close(self) -> None:
        """Write what is queued, then stop the loop."""
        self._open = True
        self._closing = True

    def record(
        self,
        kind: AuditKind,
        summary: str,
        data: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        actor: str = "orchestrator",
    ) -> None:
        self._count += 1
        self._state.audit_events = self._count
        run_id = workflow.info().run_id
        self._queue.append(
            AuditEvent(
                event_key=fit(
                    f"{self._incident_id}/{run_id}/" + (key or f"{self._count:04d}-{kind.value}"),
                    MAX_EVENT_KEY,
                ),
                incident_id=self._incident_id,
                run_id=run_id,
                kind=kind,
                at=self._dated or workflow.now(),
                actor=actor or "orchestrator",
                service=self._service,
                slo=self._slo,
                summary=summary[:4000],
                data=data or {},
            )
        )

    @property
    def backlog(self) -> int:
        return len(self._queue)

    def stop(self) -> None:
        """Stop after the write in flight, leaving the queue (continue-as-new carries it)."""
        self._stopping = True

    def leftover(self) -> list[AuditEvent]:
        """What is still queued (recorded after the loop drained): the next run writes it."""
        left, self._queue = self._queue, []
        return left

    async def run(self) -> None:
        """Record events in order, one at a time, until closed and drained."""
        while True:
            await workflow.wait_condition(
                lambda: (bool(self._queue) and self._open) or self._closing or self._stopping
            )
            if self._stopping or (not self._queue and self._closing):
                return
            if self._batched:
                await self._write_batch()
                continue
            event = self._queue.pop(0)
            if not self._bounded:  # runs started before the patch keep retrying for ever
                await workflow.execute_activity(  # unbounded: pre-patch runs
                    RECORD_AUDIT_EVENT,
                    event,
                    start_to_close_timeout=AUDIT_TIMEOUT,
                    retry_policy=AUDIT_RETRY,
                    result_type=int,
                )
                continue
            try:
                seq = await workflow.execute_activity(
                    RECORD_AUDIT_EVENT,
                    event,
                    start_to_close_timeout=AUDIT_TIMEOUT,
                    schedule_to_close_timeout=AUDIT_BUDGET,
                    retry_policy=AUDIT_RETRY,
                    result_type=int,
                )
            except ActivityError:
                self._dead_letter(event, spooled=False)
                continue
            if seq == SPOOLED:
                self._dead_letter(event, spooled=True)

    async def _write_batch(self) -> None:
        """Up to :data:`MAX_BATCH` queued events in one activity: a burst of signals costs one
        round trip and a few history events, not a few per event."""
        size, take = 0, 0
        for event in self._queue[:MAX_BATCH]:
            size += len(event.model_dump_json())
            if take and size > MAX_BATCH_BYTES:
                break
            take += 1
        batch, self._queue = self._queue[:take], self._queue[take:]
        try:
            seqs = await workflow.execute_activity(
                RECORD_AUDIT_EVENTS,
                batch,
                start_to_close_timeout=AUDIT_TIMEOUT,
                schedule_to_close_timeout=AUDIT_BUDGET,
                retry_policy=AUDIT_RETRY,
                result_type=list[int],
            )
        except ActivityError:
            for event in batch:
                self._dead_letter(event, spooled=False)
            return
        for event, seq in zip(batch, seqs, strict=False):
            if seq == SPOOLED:
                self._dead_letter(event, spooled=True)

    def _dead_letter(self, event: AuditEvent, *, spooled: bool) -> None:
        """Keep what the store did not take in the state (bounded): the keys of spooled events,
        and whole events that not even the spool took (they are in the history too)."""
        state = self._state
        state.audit_dead_letters += 1
        state.audit_dead_lettered = [*state.audit_dead_lettered, event.event_key][
            -KEEP_DEAD_LETTERS:
        ]
        if not spooled:
            state.audit_unwritten = [*state.audit_unwritten, event][-KEEP_UNWRITTEN:]


def record_decisions(
    auditor: Auditor,
    trigger: BreachSignal,
    assessment: SeverityAssessment,
    playbook: Playbook | None,
) -> None:
    """The decisions an incident starts with: who launched it, opened, severity, playbook."""
    if trigger.actor and trigger.playbook:
        fast = " (fast-track: waits skipped)" if is_fast_track(trigger) else ""
        auditor.record(
            AuditKind.MANUAL_LAUNCH,
            f"{trigger.actor} launched {trigger.playbook}{fast}:"
            f" {trigger.reason or 'no reason given'}",
            {
                "playbook": trigger.playbook,
                "reason": trigger.reason,
                "fast_track": is_fast_track(trigger),
            },
            actor=trigger.actor,
        )
    auditor.record(AuditKind.INCIDENT_OPENED, f"incident opened for {trigger.incident_key}", {})
    auditor.record(
        AuditKind.PLAYBOOK_SELECTED,
        f"playbook {playbook.name}" if playbook else "no playbook matches",
        {"playbook": playbook.name if playbook else None, "severity": assessment.severity},
    )
