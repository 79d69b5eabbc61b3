"""Incident reviews (RCA tasks) in a ticket system, and the local file-backed one."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

from orchestrator.domain.ops_models import ReviewDraft, ReviewTicket
from orchestrator.errors import NotFoundError
from orchestrator.providers.local_json import Document, LockedJsonFile


class TicketProvider(Protocol):
    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        """Open the review, or return the one already opened under ``draft.key``."""
        ...

    async def get(self, ticket_id: str) -> ReviewTicket | None: ...

    async def close_review(self, ticket_id: str, resolution: str, now: datetime) -> ReviewTicket:
        """Record ``resolution`` and close the review; closing a closed one changes nothing.
        NotFoundError when there is no such ticket."""
        ...


class LocalTickets:
    """A :class:`TicketProvider` over one JSON file; ids ``RCA-1``, ``RCA-2``..."""

    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "ticket store")

    def __repr__(self) -> str:
        return f"LocalTickets({str(self._file.path)!r})"

    async def open_review(self, draft: ReviewDraft, now: datetime) -> ReviewTicket:
        def change(doc: Document) -> ReviewTicket:
            by_key = doc.setdefault("by_key", {})
            tickets = doc.setdefault("tickets", {})
            if draft.key in by_key:
                return ReviewTicket.model_validate(tickets[by_key[draft.key]])
            ticket_id = f"RCA-{len(tickets) + 1}"
            ticket = ReviewTicket(**draft.model_dump(), id=ticket_id, created_at=now)
            tickets[ticket_id] = ticket.model_dump(mode="json")
            by_key[draft.key] = ticket_id
            return ticket

        return await self._file.change(change)

    async def get(self, ticket_id: str) -> ReviewTicket | None:
        raw = (await self._file.read()).get("tickets", {}).get(ticket_id)
        return None if raw is None else ReviewTicket.model_validate(raw)

    async def close_review(self, ticket_id: str, resolution: str, now: datetime) -> ReviewTicket:
        def change(doc: Document) -> ReviewTicket:
            raw = doc.setdefault("tickets", {}).get(ticket_id)
            if raw is None:
                raise NotFoundError(f"no review {ticket_id!r} in the ticket store")
            ticket = ReviewTicket.model_validate(raw)
            if ticket.status == "closed":
                return ticket
            closed = ticket.model_copy(update={"status": "closed", "resolution": resolution})
            doc["tickets"][ticket_id] = closed.model_dump(mode="json")
            return closed

        return await self._file.change(change)

    async def all(self) -> list[ReviewTicket]:
        doc = await self._file.read()
        return [ReviewTicket.model_validate(t) for t in doc.get("tickets", {}).values()]
