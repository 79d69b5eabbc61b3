"""The Temporal-backed :class:`~orchestrator.client.submission.SignalSubmitter`.

Firing signals use signal-with-start on the workflow id derived from the incident key, so 20
concurrent signals for one key start exactly one workflow and all 20 land on it. Resolved signals
only ever signal a running incident: they never start one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.client.connect import connect, rpc_error
from orchestrator.client.submission import SubmitResult, SubmitStatus
from orchestrator.config.settings import Settings
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.playbook import Playbook, PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, SignalStatus, workflow_id_for
from orchestrator.errors import NotFoundError, ValidationError
from orchestrator.workflows.types import (
    INCIDENT_WORKFLOW,
    SA_SERVICE,
    SA_SLO,
    SA_STATE,
    SIGNAL_BREACH,
    IncidentInput,
    IncidentPhase,
)


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
                INCIDENT_WORKFLOW,
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
            raise rpc_error(exc) from exc
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
                raise rpc_error(exc) from exc
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


def submitter_for(
    client: Client, settings: Settings, catalog: Catalog, library: PlaybookLibrary
) -> TemporalSubmitter:
    """The submitter every way in uses (CLI, HTTP API, demo), built from settings in one place."""
    return TemporalSubmitter(
        client,
        catalog,
        library,
        task_queue=settings.task_queue,
        kill_switch=settings.kill_switch,
        workflow_id_prefix=settings.workflow_id_prefix,
    )


async def connect_submitter(
    settings: Settings, catalog: Catalog, library: PlaybookLibrary
) -> tuple[Client, TemporalSubmitter]:
    """A Temporal client and the submitter over it (CLI commands that start incidents)."""
    client = await connect(settings)
    return client, submitter_for(client, settings, catalog, library)
