"""The running incident's shared state, as the workflow's helpers see it.

One :class:`Live` per workflow run: the input, the queryable state, the audit trail, the signals,
the current severity, and what a person asked for (abort, a playbook launch) or a later signal
caused (escalation). Workflow code only: deterministic, time from ``workflow.now()``.

A coroutine of workflow code that is *closed* (``GeneratorExit``) issues no command. A worker that
drops a run without evicting it (it stopped with the run cached) leaves the run's coroutines
suspended; the garbage collector closes them later, in whichever thread collects, and that is
often one running another workflow's task: a ``finally`` there that sets the phase would upsert
search attributes into *that* workflow, whose history (or replay) then holds a command its own
code never issued, a nondeterminism. So every ``finally`` that acts skips the close
(:meth:`ApprovalDesk.obtain`, :meth:`StepRunner.wait_for_recovery`); a close never happens in a
run that is live or replaying, so this changes no history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities.ops_types import (
        AUTHORIZE_ACTION,
        PAGE_ONCALL,
        AuthorizeInput,
        PageInput,
        PageResult,
    )
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.holdings import holder_id
    from orchestrator.domain.keys import fit
    from orchestrator.domain.ops_models import (
        ActionRequest,
        Authorization,
        PageRequest,
        unanswered,
    )
    from orchestrator.domain.playbook import Playbook, Step
    from orchestrator.domain.policy_plan import incident_context
    from orchestrator.domain.severity import Severity
    from orchestrator.domain.signals import BreachSignal
    from orchestrator.errors import PERMANENT_ERROR_TYPE
    from orchestrator.workflows.auditing import Auditor
    from orchestrator.workflows.patches import patched
    from orchestrator.workflows.step_types import EFFECT_RETRY, budget, describe
    from orchestrator.workflows.types import (
        SA_PLAYBOOK,
        SA_SERVICE,
        SA_SEVERITY,
        SA_SLO,
        SA_STATE,
        SEARCH_ATTRIBUTES,
        AbortRequest,
        FirstEffect,
        IncidentInput,
        IncidentPhase,
        IncidentState,
    )

PATCH_RESET_SAFE_KEYS = "reset-safe-keys"
MAX_EFFECT_KEY = 200
PATCH_HELD_CHANGES = "held-changes"
PATCH_LATE_SIGNALS = "late-signals"
PATCH_PROVIDER_WAITS = "provider-waits"
PATCH_ENDING_PHASE = "ending-phase"
PATCH_CONTINUE_AS_NEW = "continue-as-new"
PATCH_LEAN_UPSERTS = "lean-upserts"
PATCH_REVIEW_LINKS = "review-links"
PATCH_AUDIT_AFTER_EFFECT = "audit-after-first-effect"
GATE_TIMEOUT = timedelta(seconds=10)
GATE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=5,
    non_retryable_error_types=[PERMANENT_ERROR_TYPE],
)
PAGE_TIMEOUT = timedelta(seconds=30)
PAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
    non_retryable_error_types=[PERMANENT_ERROR_TYPE],
)


@dataclass
class Replan:
    """Run a playbook again from its first step (steps whose effect is in place are skipped)."""

    reason: str
    playbook: Playbook | None = None
    """None: policy selects for the incident's (new) severity."""
    by: str | None = None
    fast_track: bool = False


class Live:
    def __init__(self, inp: IncidentInput, state: IncidentState, auditor: Auditor) -> None:
        self.inp = inp
        self.state = state
        self.auditor = auditor
        # Every patch is decided once, as the first commands of the run, so its marker sits at
        # the same place in every history whatever signals, queries or cache evictions come
        # later (a patch first asked for mid-run, or in a signal handler, can be replayed at
        # another point and fail as nondeterministic). Runs started before a patch keep the old
        # code for their whole life.
        self.reset_safe_keys = patched(PATCH_RESET_SAFE_KEYS)
        self.held_changes = patched(PATCH_HELD_CHANGES)
        self.late_signals = patched(PATCH_LATE_SIGNALS)
        self.provider_waits = patched(PATCH_PROVIDER_WAITS)
        """A provider failure a person must answer makes the step wait for one (else: it fails)."""
        self.ending_phase = patched(PATCH_ENDING_PHASE)
        self.ending = False
        """The incident has decided to end (undo, compensation, the last page): a signal now
        belongs to the key's next occurrence."""
        self.may_continue = patched(PATCH_CONTINUE_AS_NEW)
        """The run continues as new when its history grows long (:mod:`.continuing`)."""
        self._lean_upserts = patched(PATCH_LEAN_UPSERTS)
        self._upserted: dict[str, str] = {}
        self.review_links = patched(PATCH_REVIEW_LINKS)
        """The RCA task carries the SLO's runbook as an evidence link (issue 13)."""
        self.audit_after_effect = patched(PATCH_AUDIT_AFTER_EFFECT)
        """The queued audit events are written once a step's effect activity has finished, not
        beside it: their writes never compete with the first mitigating change (issue 15). Runs
        started before this change open the audit as the activity is scheduled."""
        """Search attributes as last upserted (with lean upserts, only a change is upserted)."""
        self.deadline: datetime | None = None
        """When a still-firing incident is handed to humans (set when monitoring first starts)."""
        self.signals: list[BreachSignal] = []
        self.trigger: BreachSignal | None = None
        self.severity: Severity | None = None
        self.playbook: Playbook | None = None
        self.launcher: str | None = None
        """The person who launched the incident or its playbook, if a person did."""
        self.quiet_since: datetime | None = None
        """When the breach last resolved; None while it fires."""
        self.replan: Replan | None = None
        self.abort: AbortRequest | None = None
        self.effect_retry: RetryPolicy = EFFECT_RETRY
        """How a step's effect activity is retried (the key's workflow tries a first change once:
        :mod:`.first`)."""
        self.first: FirstEffect | None = None
        """The first change the key's workflow made, while this run has yet to make that step
        itself (:mod:`.first`)."""

    @property
    def firing(self) -> bool:
        return self.state.firing

    @property
    def manual(self) -> bool:
        return self.launcher is not None

    def interrupted(self) -> bool:
        return self.abort is not None or self.replan is not None

    def effect_budget(self, start_to_close: timedelta) -> timedelta:
        """A step's effect activity's schedule-to-close: every attempt its retries allow; a first
        change tried once by the key's workflow may also wait as long again for a free slot, so
        a busy worker does not time it out before it starts."""
        if self.effect_retry is EFFECT_RETRY:
            return budget(start_to_close, EFFECT_RETRY)
        return budget(start_to_close, self.effect_retry) + start_to_close

    def key(self, *parts: str) -> str:
        """An idempotency key unique to this occurrence: never the run id, so a retry, a replay
        or a ``temporal workflow reset`` finds the effect it made and does not make it again.
        (Runs started before this change keep their run-scoped keys.)"""
        if self.reset_safe_keys:
            # Fitted to the smallest model that takes one (a freeze id, a review key): a key that
            # fits is unchanged, so the idempotency keys of running incidents stay what they were.
            return fit("/".join((self.inp.incident_id, *parts)), MAX_EFFECT_KEY)
        return "/".join((self.inp.incident_id, workflow.info().run_id, *parts))

    def holder(self, step: Step) -> str:
        """This occurrence's holder id for a step's held change ("" for runs started before
        held changes). A lasting step's hold is let go when the incident ends
        (:func:`~orchestrator.workflows.resolution.let_go`)."""
        if self.held_changes:
            return holder_id(self.inp.incident_id, step.id)
        return ""

    def context(self, steps: dict[str, Any]) -> dict[str, Any]:
        assert self.trigger is not None
        assert self.severity is not None
        return incident_context(
            incident_id=self.inp.incident_id,
            signal=self.trigger,
            severity=self.severity.value,
            service=self.inp.service,
            slo=self.inp.slo,
            steps=steps,
        )

    def begin_ending(self) -> None:
        """From here on the incident only ends (runs started before ``ending-phase``: as they
        did, taking signals to the end)."""
        if self.ending_phase:
            self.ending = True
            self.set_phase(IncidentPhase.ENDING)

    def upserted_as_carried(self) -> None:
        """A continued run starts with its predecessor's search attributes (continue-as-new
        keeps them): only a change is upserted from here."""
        state = self.state
        self._upserted = {
            SA_SERVICE.name: self.inp.service.name,
            SA_SLO.name: self.inp.slo.name,
            SA_STATE.name: state.phase.value,
            **({SA_SEVERITY.name: state.severity} if state.severity else {}),
            **({SA_PLAYBOOK.name: state.playbook} if state.playbook else {}),
        }

    def set_phase(self, phase: IncidentPhase) -> None:
        self.state.phase = phase
        values = {
            SA_SERVICE.name: self.inp.service.name,
            SA_SLO.name: self.inp.slo.name,
            SA_STATE.name: phase.value,
        }
        if self.state.severity:
            values[SA_SEVERITY.name] = self.state.severity
        if self.state.playbook:
            values[SA_PLAYBOOK.name] = self.state.playbook
        if self._lean_upserts:
            values = {k: v for k, v in values.items() if self._upserted.get(k) != v}
            if not values:
                return  # nothing changed: no command, no history event
            self._upserted.update(values)
        keys = {key.name: key for key in SEARCH_ATTRIBUTES}
        workflow.upsert_search_attributes([keys[k].value_set(v) for k, v in values.items()])

    async def page(
        self,
        purpose: str,
        summary: str,
        *,
        urgency: Literal["high", "low"] = "high",
        target: str | None = None,
        details: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> PageResult | None:
        """Page a human (the service's on-call by default); a pager failure is audited, never
        allowed to stop the incident. None when the page could not be sent."""
        request = PageRequest(
            key=key or self.key("page", purpose),
            incident_id=self.inp.incident_id,
            target=target or self.inp.service.owner.oncall,
            urgency=urgency,
            summary=f"{self.inp.incident_id}: {summary}"[:1000],
            details={"purpose": purpose, **(details or {})},
        )
        self.auditor.open()
        try:
            result: PageResult = await workflow.execute_activity(
                PAGE_ONCALL,
                PageInput(request=request),
                result_type=PageResult,
                start_to_close_timeout=PAGE_TIMEOUT,
                schedule_to_close_timeout=budget(PAGE_TIMEOUT, PAGE_RETRY),
                retry_policy=PAGE_RETRY,
            )
        except ActivityError as exc:
            self.auditor.record(
                AuditKind.NOTE,
                f"could not page {request.target} ({purpose}): {describe(exc)}",
                {"purpose": purpose, "target": request.target},
            )
            return None
        return result

    async def authorize(self, action: str, key: str, *, automated: bool) -> Authorization:
        """Ask the safety ledger (kill switch, circuit breaker) before a destructive effect. If
        the ledger cannot answer, the answer is no: the orchestrator does not act blind."""
        try:
            result: Authorization = await workflow.execute_local_activity(
                AUTHORIZE_ACTION,
                AuthorizeInput(request=self.action_request(action, key, automated=automated)),
                result_type=Authorization,
                start_to_close_timeout=GATE_TIMEOUT,
                schedule_to_close_timeout=budget(GATE_TIMEOUT, GATE_RETRY),
                retry_policy=GATE_RETRY,
            )
        except ActivityError as exc:
            return unanswered(describe(exc))
        return result

    def action_request(self, action: str, key: str, *, automated: bool) -> ActionRequest:
        """What the safety ledger is asked about a destructive effect of this incident."""
        return ActionRequest(
            key=key, service=self.inp.service.name, action=action, automated=automated
        )
