"""Two hundred flaps of one incident: every run's history stays bounded, the incident ends as it
should, and its temporary mitigation is undone once (issue 10, defect 5).

On the real dev server (the time-skipping server stops skipping time for later tests once a
child has reported its end to a parent that continued as new), with the local providers. A flap
is the alert resolving and, inside the hold-down, firing again as a new alert instance (a new
``startsAt``), as Alertmanager sends it. Before, each flap added about 39 events to one history
(137 events grew to 925 over 20 flaps) and search attributes were upserted on every phase
change, changed or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from orchestrator.audit.model import AuditKind
from orchestrator.domain.flags import FlagState
from orchestrator.providers.flags import FlagProvider
from orchestrator.workflows.types import IncidentPhase
from tests.providers.passthrough import PassThroughFlags
from tests.workflows.conftest import HarnessFactory
from tests.workflows.helpers import FLAG
from tests.workflows.test_occurrences import STARTED, alert

FLAPS = 200
ROUTE = "route-segment-to-humans"
LIMIT = 400
"""ORCHESTRATOR_HISTORY_LIMIT for this test (default 2,000): 200 flaps add about 1,200 events to
the occurrence's history and 1,700 to the key's, so each continues as new several times."""
PACE = 0.1
"""Seconds between flaps. A run can continue as new only between signals (Temporal refuses to
end a run while signals wait for it), so a burst with no gap at all lands whole in one run;
Alertmanager sends a group at most every group_interval (minutes)."""
BOUND = 2 * LIMIT
"""A run continues as new at its first quiet point past the limit (an occurrence), or between
two batches of signals (a key's workflow, which under a sustained stream is never quiet).
Temporal hands a run every signal that waits for it before it may end, so a run can pass the
limit by what arrives while it drains: with the default limit of 2,000 events, a few hundred
events, far below Temporal's 10,240 warning."""


class WriteLog(PassThroughFlags):
    """Every change the orchestrator made to the flag, from the provider's side: the rules of
    the flag before and after each write that changed it."""

    def __init__(self, inner: FlagProvider) -> None:
        super().__init__(inner)
        self.changes: list[tuple[int, int]] = []

    async def write(
        self, key: str, do: Callable[[], Awaitable[FlagState]], expect_version: int | None
    ) -> FlagState:
        before = await self.inner.get_flag(key)
        after = await do()
        if key == FLAG and after != before:
            self.changes.append((len(before.rules), len(after.rules)))
        return after


async def runs_of(client: Client, workflow_id: str) -> list[list[HistoryEvent]]:
    """The history of every run of ``workflow_id``, first to last (each run's start event names
    the run it continues)."""
    runs: list[list[HistoryEvent]] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [e async for e in handle.fetch_history_events()]
        runs.append(events)
        started = events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return runs[::-1]


def assert_every_upsert_changes_something(events: list[HistoryEvent]) -> int:
    """Search attributes as the run upserts them: none repeats what is set already (the SDK's
    own TemporalChangeVersion upserts, one per patch, aside). Returns how many there were."""
    current: dict[str, bytes] = {}
    count = 0
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        values = {
            k: v.data for k, v in fields.indexed_fields.items() if k != "TemporalChangeVersion"
        }
        if not values:
            continue
        count += 1
        assert any(current.get(k) != v for k, v in values.items()), (event.event_id, values)
        current.update(values)
    return count


async def test_two_hundred_flaps_keep_every_run_small_and_undo_once(
    make_dev_harness: HarnessFactory,
) -> None:
    logs: list[WriteLog] = []

    def wrap(inner: FlagProvider) -> FlagProvider:
        logs.append(WriteLog(inner))
        return logs[-1]

    async with make_dev_harness(wrap_flags=wrap, history_limit=LIMIT) as h:
        [log] = logs
        inc = await h.submit(alert("firing"))
        await h.until(inc, IncidentPhase.MONITORING)
        for flap in range(1, FLAPS + 1):
            previous = STARTED + timedelta(minutes=flap - 1)
            # Sent as Alertmanager sends them, without waiting on the key (wait=False: no query
            # between signals; Temporal keeps their order).
            await h.submit(alert("resolved", previous), wait=False)
            await h.submit(alert("firing", STARTED + timedelta(minutes=flap)), wait=False)
            await asyncio.sleep(PACE)
        state = await h.until(inc, IncidentPhase.MONITORING)
        for _ in range(600):  # the last run takes the last signals in
            if state.signals_received == 1 + 2 * FLAPS and state.runs > 1:
                break
            await asyncio.sleep(0.05)
            state = await h.state(inc)
        assert state.signals_received == 1 + 2 * FLAPS
        assert state.runs > 1, "the occurrence continued as new"

        await h.submit(alert("resolved", STARTED + timedelta(minutes=FLAPS)))
        final = await h.result(inc)
        assert final.phase is IncidentPhase.RESOLVED, final
        assert final.signals_received == 2 + 2 * FLAPS

        runs = await runs_of(h.client, inc)
        lengths = [len(run) for run in runs]
        assert len(runs) == final.runs
        assert max(lengths) < BOUND, lengths
        key_lengths = [len(run) for run in await runs_of(h.client, (await h.key(inc)).key)]
        assert len(key_lengths) > 1 and max(key_lengths) < BOUND, key_lengths
        upserts = sum(assert_every_upsert_changes_something(run) for run in runs)
        print(f"flaps={FLAPS} occurrence runs={lengths} key runs={key_lengths} upserts={upserts}")

        # Applied once, undone once, from the provider's own log and from the audit.
        assert log.changes == [(0, 1), (1, 0)], "one rule added, then removed"
        undos = [
            e
            for e in await h.runtime.audit.timeline(inc)
            if e.kind is AuditKind.EFFECT_APPLIED and e.data.get("undo")
        ]
        assert [e.data["step"] for e in undos] == [ROUTE]
        assert await h.served_eventually(FLAG, "language", "es", "assistant") == "assistant"
