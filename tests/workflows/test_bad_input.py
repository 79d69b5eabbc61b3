"""Bad input never jams an incident (issue 10).

A signal whose payload is not a breach signal, sent to a key's workflow or straight to an
occurrence, is recorded in the audit and ignored; the incident goes on and ends as it should.
Before, the SDK dropped it with a worker log line only: nothing in the audit said it came.
"""

from __future__ import annotations

import asyncio

from orchestrator.audit.model import AuditKind, StoredEvent
from orchestrator.workflows.types import SIGNAL_BREACH, IncidentPhase
from tests.workflows.harness import Harness
from tests.workflows.signals import SPANISH, breach

NOTE = "a signal that is not a breach signal was ignored"


async def test_a_signal_that_is_not_a_breach_signal_is_recorded_and_ignored(
    harness: Harness,
) -> None:
    h = harness
    firing = breach("language-gap", segment=SPANISH, observed=7.4, burn=9.2)
    inc = await h.submit(firing)
    await h.until(inc, IncidentPhase.MONITORING)
    key = (await h.key(inc)).key

    await h.client.get_workflow_handle(key).signal(SIGNAL_BREACH, {"service": "Not A Slug"})
    await h.client.get_workflow_handle(inc).signal(SIGNAL_BREACH, "not even an object")

    notes: list[StoredEvent] = []
    for _ in range(200):  # the audit is written by activities: poll for it, a bounded while
        notes = [e for e in await h.runtime.audit.timeline(key) if NOTE in e.summary]
        if len(notes) >= 2:
            break
        await asyncio.sleep(0.05)
    by_id = {e.incident_id: e for e in notes}
    assert set(by_id) == {key, inc}, [e.summary for e in notes]
    assert by_id[key].kind is AuditKind.NOTE
    assert "service" in by_id[key].data["problem"]
    assert "Not A Slug" not in by_id[key].summary, "the problem names the field, not the value"
    assert by_id[inc].data["problem"]
    assert (await h.key(inc)).bad_signals == 1
    assert (await h.state(inc)).bad_signals == 1

    # The incident goes on: its resolution still lands and it ends resolved.
    await h.submit(breach("language-gap", segment=SPANISH, resolved=True))
    final = await h.result(inc)
    assert final.phase is IncidentPhase.RESOLVED, final
