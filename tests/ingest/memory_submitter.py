"""An honest in-memory SignalSubmitter for the ingest tests.

It validates against a real catalog, keeps one incident per service and SLO (the first firing
signal starts it, later ones join it; both answer ACCEPTED, as signal-with-start does), never lets
a resolved signal start an incident, deduplicates by dedupe key, and can be switched to
"unavailable" (now, or after N more submissions) to exercise the 503 path.
"""

from __future__ import annotations

import asyncio

from orchestrator.client.submission import SubmitResult, SubmitStatus
from orchestrator.domain.catalog import Catalog
from orchestrator.domain.signals import BreachSignal, SignalStatus, workflow_id_for
from orchestrator.errors import TemporalUnavailableError

ACCEPTED = SubmitStatus("accepted")


class MemorySubmitter:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.available = True
        self.fail_after: int | None = None
        """Accept this many more submissions, then behave as if Temporal went away."""
        self.incidents: dict[str, str] = {}
        """incident key (service/slo) -> workflow id of the open incident."""
        self.submitted: list[BreachSignal] = []
        self.seen: set[str] = set()
        self.validated = 0
        self.started = 0
        self.joined = 0

    async def validate(self, signal: BreachSignal) -> None:
        await asyncio.sleep(0)  # a real submitter awaits I/O here; let other tasks run
        self.validated += 1
        self.catalog.resolve(signal)

    async def submit(self, signal: BreachSignal) -> SubmitResult:
        await asyncio.sleep(0)  # as a network round trip would
        if self.fail_after is not None:
            if self.fail_after <= 0:
                self.available = False
            self.fail_after -= 1
        if not self.available:
            raise TemporalUnavailableError("the workflow service is unreachable (test double)")
        self.catalog.resolve(signal)
        signal = signal.with_dedupe_key()
        workflow_id = workflow_id_for(signal.service, signal.slo)
        key = signal.incident_key
        # No await between the check and the update: concurrent deliveries cannot both start.
        fresh = signal.dedupe_key not in self.seen
        if key in self.incidents:
            status = ACCEPTED
            self.joined += int(fresh)
        elif signal.status is SignalStatus.RESOLVED:
            status = SubmitStatus.NO_OPEN_INCIDENT
        else:
            self.incidents[key] = workflow_id
            self.started += 1
            status = ACCEPTED
        if fresh:
            self.seen.add(signal.dedupe_key)
            self.submitted.append(signal)
        return SubmitResult(
            incident_id=workflow_id,
            workflow_id=workflow_id,
            status=status,
            dedupe_key=signal.dedupe_key,
        )

    async def ready(self) -> bool:
        return self.available
