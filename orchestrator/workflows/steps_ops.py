"""Deployment, release-freeze, review and paging steps: one activity each, verified by read-back.

Workflow code: what a step needs from the catalog (known-good versions, the components it may
touch) is checked here, purely, before any activity runs; a step naming something the catalog does
not list fails at once, not after retries.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.activities.ops_types import (
        FREEZE_RELEASES,
        OPEN_INCIDENT_REVIEW,
        PAGE_ONCALL,
        PIN_COMPONENT_VERSION,
        SCALE_COMPONENT,
        FreezeInput,
        FreezeResult,
        PageInput,
        PageResult,
        PinInput,
        PinResult,
        ReviewInput,
        ReviewResult,
        ScaleInput,
        ScaleResult,
    )
    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.actions import (
        KNOWN_GOOD,
        FreezeArgs,
        OpenReviewArgs,
        PageArgs,
        PinVersionArgs,
        ScaleArgs,
    )
    from orchestrator.domain.ops_models import FreezeRequest, PageRequest, ReviewDraft
    from orchestrator.domain.playbook import Step
    from orchestrator.domain.policy_effects import Undo
    from orchestrator.domain.policy_evidence import review_evidence
    from orchestrator.workflows.live import PAGE_RETRY, Live
    from orchestrator.workflows.step_types import StepFailed, StepOutcome, budget


class OpsSteps:
    def __init__(self, live: Live) -> None:
        self._live = live

    def _component(self, component: str) -> None:
        service = self._live.inp.service
        if component not in service.versions:
            known = ", ".join(sorted(service.versions)) or "none"
            raise StepFailed(
                f"component {component!r} is not one the catalog lists for {service.name}"
                f" (versions: {known})"
            )

    def _ref(self, step: Step) -> str:
        return f"{self._live.inp.incident_id}/{step.id}"

    async def pin(self, step: Step, args: PinVersionArgs, _playbook: str) -> StepOutcome:
        timeout = timedelta(seconds=step.timeout_seconds)
        self._component(args.component)
        version = args.version
        if version == KNOWN_GOOD:
            version = self._live.inp.service.versions[args.component].known_good
        result = await workflow.execute_activity(
            PIN_COMPONENT_VERSION,
            PinInput(
                service=self._live.inp.service.name,
                component=args.component,
                version=version,
                ref=self._ref(step),
                reason=args.reason,
                holder=self._live.holder(step),
            ),
            result_type=PinResult,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=self._live.effect_budget(timeout),
            retry_policy=self._live.effect_retry,
        )
        data = result.model_dump(mode="json")
        undo = Undo(
            kind="version",
            target=args.component,
            expect=result.version_after,
            restore=result.baseline if result.holding else result.version_before,
            holding=result.holding or None,
            holder=self._live.holder(step) or None,
        )
        if not result.changed:
            held = undo if result.holding else None
            return StepOutcome("done", AuditKind.EFFECT_SKIPPED, result.detail, data, undo=held)
        summary = f"{args.component} rolled back {result.version_before} -> {result.version_after}"
        return StepOutcome(
            "done", AuditKind.EFFECT_APPLIED, summary, data, undo=undo, verified=result.detail
        )

    async def scale(self, step: Step, args: ScaleArgs, _playbook: str) -> StepOutcome:
        timeout = timedelta(seconds=step.timeout_seconds)
        self._component(args.component)
        result = await workflow.execute_activity(
            SCALE_COMPONENT,
            ScaleInput(
                service=self._live.inp.service.name,
                component=args.component,
                replicas=args.replicas,
                ref=self._ref(step),
                holder=self._live.holder(step),
            ),
            result_type=ScaleResult,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=self._live.effect_budget(timeout),
            retry_policy=self._live.effect_retry,
        )
        data = result.model_dump(mode="json")
        undo = Undo(
            kind="replicas",
            target=args.component,
            expect=str(result.replicas_after),
            restore=result.baseline if result.holding else str(result.replicas_before),
            holding=result.holding or None,
            holder=self._live.holder(step) or None,
        )
        if not result.changed:
            held = undo if result.holding else None
            return StepOutcome("done", AuditKind.EFFECT_SKIPPED, result.detail, data, undo=held)
        return StepOutcome(
            "done", AuditKind.EFFECT_APPLIED, result.detail, data, undo=undo, verified=result.detail
        )

    async def freeze(self, step: Step, args: FreezeArgs, playbook: str) -> StepOutcome:
        timeout = timedelta(seconds=step.timeout_seconds)
        self._component(args.component)
        live = self._live
        until = workflow.now() + timedelta(hours=args.hours) if args.hours else None
        request = FreezeRequest(
            id=live.key(playbook, step.id),
            service=live.inp.service.name,
            component=args.component,
            reason=args.reason,
            owner=args.owner,
            until=until,
            created_by=f"orchestrator ({live.inp.incident_id})",
        )
        result = await workflow.execute_activity(
            FREEZE_RELEASES,
            FreezeInput(request=request, holder=self._live.holder(step)),
            result_type=FreezeResult,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=self._live.effect_budget(timeout),
            retry_policy=self._live.effect_retry,
        )
        data = {
            "freeze_id": result.freeze.id,
            "component": args.component,
            "until": until.isoformat() if until else None,
            "reason": args.reason,
            "owner": args.owner,
            "active": result.active,
        }
        if not result.active:
            return StepOutcome("done", AuditKind.EFFECT_SKIPPED, result.detail, data)
        undo = Undo(
            kind="freeze",
            target=result.freeze.id,
            holding=result.holding or None,
            holder=self._live.holder(step) or None,
        )
        return StepOutcome(
            "done", AuditKind.EFFECT_APPLIED, result.detail, data, undo=undo, verified=result.detail
        )

    async def review(self, step: Step, args: OpenReviewArgs, _playbook: str) -> StepOutcome:
        timeout = timedelta(seconds=step.timeout_seconds)
        live = self._live
        evidence = review_evidence(
            service=live.inp.service,
            slo=live.inp.slo.name,
            signals=live.signals,
            effects=live.state.effects,
            severities=live.state.severities,
            playbooks=live.state.playbooks_run,
        )
        runbook = live.inp.slo.runbook_url
        links = (runbook,) if live.review_links and runbook else ()
        draft = ReviewDraft(
            key=live.key("review"),
            incident_id=live.inp.incident_id,
            service=live.inp.service.name,
            slo=live.inp.slo.name,
            severity=live.state.severity or "",
            title=args.title,
            owner=args.owner,
            deadline=workflow.now() + timedelta(hours=args.deadline_hours),
            verification=args.verification,
            questions=args.questions,
            evidence=evidence,
            links=links,
        )
        result = await workflow.execute_activity(
            OPEN_INCIDENT_REVIEW,
            ReviewInput(draft=draft),
            result_type=ReviewResult,
            start_to_close_timeout=timeout,
            schedule_to_close_timeout=self._live.effect_budget(timeout),
            retry_policy=self._live.effect_retry,
        )
        ticket = result.ticket
        data = {
            "ticket": ticket.id,
            "owner": ticket.owner,
            "deadline": ticket.deadline.isoformat(),
            "verification": ticket.verification,
            "evidence": evidence,
        }
        return StepOutcome("done", AuditKind.EFFECT_APPLIED, result.detail, data)

    async def page(self, step: Step, args: PageArgs, playbook: str) -> StepOutcome:
        live = self._live
        # The message is part of the key: the same step paging again with other words (a SEV1
        # re-plan, a new observed value) is a new page; a retry is not.
        digest = hashlib.sha256(f"{args.target}|{args.message}".encode()).hexdigest()[:12]
        request = PageRequest(
            key=live.key("step", playbook, step.id, digest),
            incident_id=live.inp.incident_id,
            target=args.target or live.inp.service.owner.oncall,
            urgency=args.urgency,
            summary=f"{live.inp.incident_id}: {args.message}"[:1000],
            details={"step": step.id, "playbook": playbook, "severity": live.state.severity},
        )
        result = await workflow.execute_activity(
            PAGE_ONCALL,
            PageInput(request=request),
            result_type=PageResult,
            start_to_close_timeout=timedelta(seconds=step.timeout_seconds),
            schedule_to_close_timeout=budget(timedelta(seconds=step.timeout_seconds), PAGE_RETRY),
            retry_policy=PAGE_RETRY,
        )
        data = {"page": result.page.id, "target": result.page.target, "urgency": args.urgency}
        return StepOutcome("done", AuditKind.EFFECT_APPLIED, result.detail, data)
