"""An audit store that stops taking writes never holds an incident up (issue 10, defect 3).

On the time-skipping server with the local providers: the store the audit activity writes to
fails every append. The worked example still mitigates, resolves and completes; the events the
store did not take are in the worker's dead-letter spool and counted in the incident's state;
``orchestrator audit --verify`` reports them as a gap; once the store takes writes again, the next
audit write drains the spool and nothing is lost. Before, the audit activity retried for ever and
the incident never completed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from orchestrator.audit.model import AuditEvent, StoredEvent
from orchestrator.audit.spool import AuditSpool
from orchestrator.audit.store import AuditStore
from orchestrator.config.settings import Settings
from orchestrator.errors import NotFoundError
from orchestrator.workflows.types import IncidentPhase
from tests.cli.helpers import cli
from tests.workflows.conftest import HarnessFactory
from tests.workflows.helpers import fairness_breach, resolved


class Outage:
    """The audit store as the activity sees it: every append fails while ``down``."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self.down = True
        self.refused = 0

    async def append(self, event: AuditEvent) -> StoredEvent:
        if self.down:
            self.refused += 1
            raise OSError("disk I/O error (the test's outage)")
        return await self._store.append(event)

    async def append_many(self, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """The batch write (one transaction) fails alike."""
        if self.down:
            self.refused += 1
            raise OSError("disk I/O error (the test's outage)")
        return await self._store.append_many(events)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_an_audit_outage_dead_letters_events_and_the_incident_completes(
    make_harness: HarnessFactory, settings: Settings
) -> None:
    outages: list[Outage] = []

    def wrap(store: AuditStore) -> AuditStore:
        outages.append(Outage(store))
        return outages[-1]  # type: ignore[return-value]

    async with make_harness(wrap_audit=wrap) as h:
        [outage] = outages
        inc = await h.submit(fairness_breach())
        await h.until(inc, IncidentPhase.MONITORING)
        assert (
            await h.served_eventually(
                "support-assistant-answer-mode", "language", "es", "human-queue"
            )
            == "human-queue"
        )
        await h.submit(resolved(fairness_breach()))
        final = await asyncio.wait_for(h.result(inc), timeout=120)
        assert final.phase is IncidentPhase.RESOLVED, final
        assert outage.refused > 0
        assert final.audit_dead_letters > 0 and final.audit_unwritten == []
        spool = AuditSpool(settings.audit_spool_dir)
        spooled = {e.event_key for e in spool.pending()}
        assert set(final.audit_dead_lettered) <= spooled
        with pytest.raises(NotFoundError):  # the store took nothing of it
            await h.runtime.audit.timeline(inc)

        report = await cli("--state-dir", str(settings.state_dir), "audit", "--verify")
        assert report.code == 1, report.err
        assert f"GAP: {len(spooled)} audit events are dead-lettered" in report.out

        # The store heals: the next audit write drains the spool, and nothing is lost.
        outage.down = False
        again = await h.submit(fairness_breach(observed=7.9, dedupe_key="second-breach"))
        await h.until(again, IncidentPhase.MONITORING)
        for _ in range(200):
            if not spool.pending():
                break
            await asyncio.sleep(0.05)
        assert spool.pending() == []
        key = (await h.key(inc)).key  # its timeline: the key's own notes and its occurrences'
        stored = {e.event_key for e in await h.runtime.audit.timeline(key)}
        assert spooled <= stored
        healed = await cli("--state-dir", str(settings.state_dir), "audit", "--verify")
        assert healed.code == 0, (healed.out, healed.err)
