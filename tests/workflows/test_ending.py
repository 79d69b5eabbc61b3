"""A firing that arrives while an incident is ending opens the next occurrence (issue 10, defect 4).

On the time-skipping server with the local providers: the worked example resolves, and while its
undo is in flight (the flag write held open) the breach fires again. Before, the occurrence took
the firing, recorded it, went on undoing and closed resolved: the firing was acknowledged and then
dropped, and Spanish speakers were back on the degraded assistant with no incident open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from orchestrator.domain.flags import FlagState
from orchestrator.providers.flags import FlagProvider
from orchestrator.workflows.types import IncidentPhase
from tests.providers.passthrough import PassThroughFlags
from tests.workflows.conftest import HarnessFactory
from tests.workflows.helpers import FLAG
from tests.workflows.test_occurrences import STARTED, alert


class HeldWrite(PassThroughFlags):
    """Once armed, the next flag write waits until the test lets it go."""

    def __init__(self, inner: FlagProvider) -> None:
        super().__init__(inner)
        self.armed = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        if self.armed:
            self.armed = False
            self.entered.set()
            await self.release.wait()
        return await do()


async def test_a_firing_while_the_incident_ends_opens_the_next_occurrence(
    make_harness: HarnessFactory,
) -> None:
    held: list[HeldWrite] = []

    def wrap(inner: FlagProvider) -> FlagProvider:
        held.append(HeldWrite(inner))
        return held[-1]

    async with make_harness(wrap_flags=wrap) as h:
        [flags] = held
        first = await h.submit(alert("firing"))
        await h.until(first, IncidentPhase.MONITORING)
        flags.armed = True
        await h.submit(alert("resolved"))
        await asyncio.wait_for(flags.entered.wait(), timeout=60)  # the undo is in flight
        assert (await h.state(first)).phase is IncidentPhase.ENDING

        again = STARTED + timedelta(minutes=30)  # a new alert instance, not a redelivery
        await h.submit(alert("firing", again))
        flags.release.set()

        assert (await h.result(first)).phase is IncidentPhase.RESOLVED
        for _ in range(200):
            key = await h.key(first)
            if len(key.occurrences) == 2 and key.open:
                break
            await asyncio.sleep(0.05)
        assert key.occurrences[0].id == first
        assert key.open is not None and key.open != first, key
        second = await h.until(key.open, IncidentPhase.MONITORING)
        assert second.signals_received == 1
        assert await h.served_eventually(FLAG, "language", "es", "human-queue") == "human-queue"
