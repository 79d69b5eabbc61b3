"""Bookkeeping activities: open the incident review (RCA task) and page a human, both verified
by reading back what the ticket system or pager holds, both idempotent by key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import activity

from orchestrator.activities.errors import not_verified, permanent_or_retryable
from orchestrator.activities.made import found_in_place
from orchestrator.activities.ops_types import (
    OPEN_INCIDENT_REVIEW,
    PAGE_ONCALL,
    PageInput,
    PageResult,
    ReviewInput,
    ReviewResult,
)
from orchestrator.activities.releases import utc_now
from orchestrator.errors import ProviderError
from orchestrator.providers.paging import Pager
from orchestrator.providers.tickets import TicketProvider


class NoticeActivities:
    def __init__(
        self, tickets: TicketProvider, pager: Pager, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._tickets = tickets
        self._pager = pager
        self._clock = clock

    @activity.defn(name=OPEN_INCIDENT_REVIEW)
    async def open_incident_review(self, inp: ReviewInput) -> ReviewResult:
        now = self._clock()
        try:
            ticket = await self._tickets.open_review(inp.draft, now)
            stored = await self._tickets.get(ticket.id)
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if stored is None:
            raise not_verified(f"review {ticket.id} is not in the ticket system")
        return ReviewResult(
            ticket=stored,
            detail=f"review {stored.id} opened for {stored.owner}, due"
            f" {stored.deadline.isoformat(timespec='minutes')}"
            + found_in_place(stored.created_at, now),
        )

    @activity.defn(name=PAGE_ONCALL)
    async def page_oncall(self, inp: PageInput) -> PageResult:
        now = self._clock()
        try:
            page = await self._pager.page(inp.request, now)
            stored = await self._pager.get(page.id)
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
        if stored is None:
            raise not_verified(f"page {page.id} is not in the pager")
        return PageResult(
            page=stored,
            detail=f"paged {stored.target} ({stored.urgency}): {stored.id}"
            + found_in_place(stored.created_at, now),
        )
