"""The Temporal-backed :class:`~orchestrator.submission.SignalSubmitter`.

Firing signals use signal-with-start on the workflow id derived from the incident key, so 20
concurrent signals for one key start exactly one workflow and all 20 land on it. Resolved signals
only ever signal a running incident: they never start one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.playbook import Playbook, PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, SignalStatus, workflow_id_for
from orchestrator.errors import NotFoundError, TemporalUnavailableError, ValidationError
from orchestrator.submission import SubmitResult, SubmitStatus
from orchestrator.workflows.incident import IncidentWorkflow
from orchestrator.workflows.types import (
    SA_SERVICE,
    SA_SLO,
    SA_STATE,
    SIGNAL_BREACH,
    IncidentInput,
    IncidentPhase,
)

_UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED}


class TemporalSubmitter:
    def __init__(
        self,
        client: Client,
        catalog: Catalog,
        library: PlaybookLibrary,
        *,
        task_queue: str,
        kill_switch: bool = False,
        workflow_id_prefix: str = "incident",
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._library = library
        self._task_queue = task_queue
        self._kill_switch = kill_switch
        self._prefix = workflow_id_prefix

    def _candidates(self, signal: BreachSignal) -> tuple[Playbook, ...]:
        service, slo = self._catalog.resolve(signal)
        if signal.playbook:
            try:
                playbook = self._library.by_name(signal.playbook)
            except NotFoundError as exc:
                raise ValidationError(str(exc), "signal.playbook") from None
            if playbook.match.services and service.name not in playbook.match.services:
                raise ValidationError(
                    f"playbook {playbook.name!r} is not for service {service.name!r}"
                )
            return (playbook,)
        return self._library.candidates_for(service.name, slo.dimension)

    async def validate(self, signal: BreachSignal) -> None:
        self._candidates(signal)

    async def submit(self, signal: BreachSignal) -> SubmitResult:
        if signal.received_at is None:
            signal = signal.model_copy(update={"received_at": datetime.now(UTC)})
        signal = signal.with_dedupe_key()
        candidates = self._candidates(signal)
        service, slo = self._catalog.resolve(signal)
        workflow_id = workflow_id_for(service.name, slo.name, self._prefix)
        try:
            if signal.status is SignalStatus.RESOLVED:
                return await self._resolve(workflow_id, signal)
            await self._client.start_workflow(
                IncidentWorkflow.run,
                IncidentInput(
                    incident_id=workflow_id,
                    service=service,
                    slo=slo,
                    candidates=candidates,
                    kill_switch=self._kill_switch,
                ),
                id=workflow_id,
                task_queue=self._task_queue,
                start_signal=SIGNAL_BREACH,
                start_signal_args=[signal],
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(SA_SERVICE, service.name),
                        SearchAttributePair(SA_SLO, slo.name),
                        SearchAttributePair(SA_STATE, IncidentPhase.OPEN.value),
                    ]
                ),
            )
        except RPCError as exc:
            if exc.status in _UNAVAILABLE:
                raise TemporalUnavailableError(f"Temporal is unreachable: {exc.message}") from exc
            raise
        return SubmitResult(
            incident_id=workflow_id,
            workflow_id=workflow_id,
            status=SubmitStatus.ACCEPTED,
            dedupe_key=signal.dedupe_key,
        )

    async def _resolve(self, workflow_id: str, signal: BreachSignal) -> SubmitResult:
        handle = self._client.get_workflow_handle(workflow_id)
        status = SubmitStatus.ACCEPTED
        try:
            await handle.signal(SIGNAL_BREACH, signal)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            status = SubmitStatus.NO_OPEN_INCIDENT
        return SubmitResult(
            incident_id=workflow_id,
            workflow_id=workflow_id,
            status=status,
            dedupe_key=signal.dedupe_key,
        )

    async def ready(self) -> bool:
        try:
            await self._client.service_client.check_health()
        except (RPCError, RuntimeError):
            return False
        return True
