"""The dead-letter spool: audit events the store would not take, kept on the worker's disk.

When the audit store stays down through an audit activity's attempts, the activity writes the event
here and reports it spooled, so the incident goes on instead of waiting on the audit. One file per
event key (written to a temporary name, then renamed: a crash leaves no half file), so spooling
the same event twice keeps one. The worker drains the spool into the store (the store's append is
idempotent by event key) whenever an audit write succeeds and when it starts.
``orchestrator audit --verify`` reports what still waits here as a gap.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from orchestrator.audit.model import AuditEvent
from orchestrator.audit.store import AuditStore


class AuditSpool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __repr__(self) -> str:
        return f"AuditSpool({str(self.directory)!r})"

    def _path(self, event_key: str) -> Path:
        return self.directory / f"{hashlib.sha256(event_key.encode()).hexdigest()[:32]}.json"

    async def put(self, event: AuditEvent) -> None:
        await asyncio.to_thread(self._put, event)

    def _put(self, event: AuditEvent) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self._path(event.event_key)
        temporary = final.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(event.model_dump_json())
        os.replace(temporary, final)

    def pending(self) -> list[AuditEvent]:
        """The spooled events, oldest first by the time they record."""
        if not self.directory.is_dir():
            return []
        events = []
        for path in self.directory.glob("*.json"):
            try:
                events.append(AuditEvent.model_validate_json(path.read_text()))
            except (OSError, ValueError):
                continue  # drained meanwhile, or not ours
        return sorted(events, key=lambda e: (e.at, e.event_key))

    async def drain(self, store: AuditStore) -> int:
        """Write every spooled event to ``store`` and remove it; stops at the first failure (the
        rest waits for the next drain). Returns how many were written."""
        written = 0
        for event in await asyncio.to_thread(self.pending):
            await store.append(event)
            self._path(event.event_key).unlink(missing_ok=True)
            written += 1
        return written
