"""The Temporal-backed :class:`~orchestrator.client.submission.SignalSubmitter`.

Every signal goes to its incident key's workflow (``IncidentKeyWorkflow``, id derived from the
key) by signal-with-start, so 20 concurrent signals for one key start exactly one key workflow and
all 20 land on it; it opens an occurrence for a firing signal, or sends the signal to the one
open. A key whose workflow this process has reached lately gets a plain signal, and
signal-with-start only when that workflow has ended since (the server answers not found). A
resolved signal never starts an occurrence: with no key workflow running it is still
delivered (started), so the key remembers it against a late, out-of-order firing.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.client.connect import connect, rpc_error
from orchestrator.client.submission import SubmitResult, SubmitStatus
from orchestrator.config.settings import Settings
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.keys import incident_key
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signal_bounds import check_bounds
from orchestrator.domain.signals import BreachSignal, SignalStatus
from orchestrator.workflows.key_types import CONTINUE_AFTER_EVENTS, KeyInput
from orchestrator.workflows.types import INCIDENT_KEY_WORKFLOW, SIGNAL_BREACH

V = TypeVar("V")
SUBMIT_TIMEOUT = timedelta(seconds=5)
"""How long one signal may wait for Temporal (its client retries within it): past that the
submission fails as unavailable, and the ingest answers 503 with Retry-After at once instead of
holding the sender. A signal Temporal did take meanwhile is a duplicate when the sender retries,
and is counted as one."""
ENCODED_KEYS = 256
"""Key workflow inputs kept encoded (the service, its SLO and every playbook for it: the same
bytes for every signal to a key, and the largest part of a signal-with-start to encode)."""
RUNNING_KEYS = 4096
"""Keys whose workflow this process started or signalled lately: the next signal to one is sent
as a plain signal (a few hundred bytes, no start request for the server to check), and by
signal-with-start only when that workflow has ended meanwhile."""


class TemporalSubmitter:
    def __init__(
        self,
        client: Client,
        catalog: Catalog,
        library: PlaybookLibrary,
        *,
        task_queue: str,
        workflow_id_prefix: str = "incident",
        alert_memory: float = 4 * 3600.0,
        history_limit: int = CONTINUE_AFTER_EVENTS,
    ) -> None:
        self._client = client
        self._catalog = catalog
        self._library = library
        self._task_queue = task_queue
        self._prefix = workflow_id_prefix
        self._memory = alert_memory
        self._history_limit = history_limit
        self._encoded: OrderedDict[str, RawValue] = OrderedDict()
        self._running: OrderedDict[str, None] = OrderedDict()

    async def validate(self, signal: BreachSignal) -> None:
        check_bounds(signal)
        incident_key(signal, self._catalog, self._library, self._prefix)

    async def submit(self, signal: BreachSignal) -> SubmitResult:
        if signal.received_at is None:
            signal = signal.model_copy(update={"received_at": datetime.now(UTC)})
        signal = signal.with_dedupe_key()
        check_bounds(signal)  # a signal too big for a workflow, and
        # a playbook named that does not fit are refused here
        workflow_id = incident_key(signal, self._catalog, self._library, self._prefix)
        status = SubmitStatus.ACCEPTED
        try:
            resolved = signal.status is SignalStatus.RESOLVED
            if resolved or workflow_id in self._running:
                if await self._signal_running(workflow_id, signal):
                    return _result(workflow_id, status, signal)
                if resolved:
                    status = SubmitStatus.NO_OPEN_INCIDENT
            await self._client.start_workflow(
                INCIDENT_KEY_WORKFLOW,
                self._key_input(workflow_id, signal),
                id=workflow_id,
                task_queue=self._task_queue,
                start_signal=SIGNAL_BREACH,
                start_signal_args=[signal],
                rpc_timeout=SUBMIT_TIMEOUT,
            )
        except RPCError as exc:
            raise rpc_error(exc) from exc
        _keep(self._running, workflow_id, None, RUNNING_KEYS)
        return _result(workflow_id, status, signal)

    def _key_input(self, workflow_id: str, signal: BreachSignal) -> RawValue:
        """The key workflow's input, encoded once per key (the catalog and playbooks do not
        change while this process runs)."""
        encoded = self._encoded.get(workflow_id)
        if encoded is not None:
            return _keep(self._encoded, workflow_id, encoded, ENCODED_KEYS)
        service, slo = self._catalog.resolve(signal)
        key = KeyInput(
            key=workflow_id,
            service=service,
            slo=slo,
            playbooks=self._library.for_service(service.name),
            memory_seconds=self._memory,
            continue_after=self._history_limit,
        )
        payload = self._client.data_converter.payload_converter.to_payloads([key])[0]
        return _keep(self._encoded, workflow_id, RawValue(payload), ENCODED_KEYS)

    async def _signal_running(self, workflow_id: str, signal: BreachSignal) -> bool:
        """Signal the key's workflow if it runs; False when none does."""
        try:
            await self._client.get_workflow_handle(workflow_id).signal(
                SIGNAL_BREACH, signal, rpc_timeout=SUBMIT_TIMEOUT
            )
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            self._running.pop(workflow_id, None)
            return False
        _keep(self._running, workflow_id, None, RUNNING_KEYS)
        return True

    async def ready(self) -> bool:
        try:
            await self._client.service_client.check_health()
        except (RPCError, RuntimeError):
            return False
        return True


def _keep(recent: OrderedDict[str, V], key: str, value: V, limit: int) -> V:
    """Put ``key`` newest in ``recent``, dropping the oldest past ``limit``; returns ``value``."""
    recent[key] = value
    recent.move_to_end(key)
    if len(recent) > limit:
        recent.popitem(last=False)
    return value


def _result(workflow_id: str, status: SubmitStatus, signal: BreachSignal) -> SubmitResult:
    return SubmitResult(
        incident_id=workflow_id,
        workflow_id=workflow_id,
        status=status,
        dedupe_key=signal.dedupe_key,
    )


def submitter_for(
    client: Client, settings: Settings, catalog: Catalog, library: PlaybookLibrary
) -> TemporalSubmitter:
    """The submitter every way in uses (CLI, HTTP API, demo), built from settings in one place."""
    return TemporalSubmitter(
        client,
        catalog,
        library,
        task_queue=settings.task_queue,
        workflow_id_prefix=settings.workflow_id_prefix,
        alert_memory=settings.alert_memory,
        history_limit=settings.history_limit,
    )


async def connect_submitter(
    settings: Settings, catalog: Catalog, library: PlaybookLibrary
) -> tuple[Client, TemporalSubmitter]:
    """A Temporal client and the submitter over it (CLI commands that start incidents)."""
    client = await connect(settings)
    return client, submitter_for(client, settings, catalog, library)
