"""Incident reviews (RCA tasks) over HTTP: ``GET /v1/reviews/{ticket}`` (viewer) and
``POST /v1/reviews/{ticket}/close`` (responder).

A review is opened by the incident's playbook in the configured ticket system (local file,
GitHub Issues or Jira Cloud; docs/integrations.md). Closing it is a person's decision: the
ticket is closed with the resolution, read back, and the close is recorded in the incident's
audit history under the caller's principal, once (a repeat changes nothing and records nothing
new). Ticket ids are the ticket system's own: ``RCA-1``, ``acme/cx-incidents#7``, ``CXOPS-12``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Protocol

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.audit.model import AuditEvent, AuditKind, StoredEvent
from orchestrator.audit.store import AuditStore
from orchestrator.domain.ops_models import ReviewTicket
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import NotFoundError, ProviderError
from orchestrator.ingest.incident_models import CloseReviewRequest
from orchestrator.ingest.limits import RejectionError
from orchestrator.ingest.operators import OperatorGuard

CLOSE_ACTION = "rca.close_review"
"""The audit ``data.action`` of a closed review (the open is ``rca.open_review``)."""
TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/#-]{0,199}")
_log = structlog.get_logger("orchestrator.ingest.reviews")


def ticket_id_of(request: Request) -> str:
    ticket = str(request.path_params["ticket"])
    if not TICKET_ID.fullmatch(ticket):
        raise RejectionError(
            422,
            "invalid",
            "ticket: expected a ticket id such as RCA-1, owner/repo#7 or PROJ-12 (letters,"
            " digits and . _ / # -, at most 200 characters)",
        )
    return ticket


def close_event(ticket: ReviewTicket, by: str, resolution: str, now: datetime) -> AuditEvent:
    return AuditEvent(
        event_key=f"{ticket.incident_id}/review/{ticket.id}/closed",
        incident_id=ticket.incident_id,
        service=ticket.service,
        slo=ticket.slo,
        kind=AuditKind.NOTE,
        at=now,
        actor=by,
        summary=f"review {ticket.id} closed by {by}: {resolution}",
        data={
            "action": CLOSE_ACTION,
            "ticket": ticket.id,
            "outcome": "closed",
            "resolution": resolution,
            "url": ticket.url,
        },
    )


class ReviewTickets(Protocol):
    """What this API needs of the ticket system (orchestrator/providers/tickets.py)."""

    async def get(self, ticket_id: str) -> ReviewTicket | None: ...

    async def close_review(
        self, ticket_id: str, resolution: str, now: datetime
    ) -> ReviewTicket: ...


class ReviewsApi:
    def __init__(self, guard: OperatorGuard, tickets: ReviewTickets, audit: AuditStore) -> None:
        self.guard = guard
        self.tickets = tickets
        self.audit = audit

    async def _ticket(self, ticket_id: str) -> ReviewTicket:
        try:
            ticket = await self.tickets.get(ticket_id)
        except ProviderError as exc:
            raise unavailable(exc) from None
        if ticket is None:
            raise NotFoundError(f"no review {ticket_id!r} in the ticket system")
        return ticket

    async def show(self, request: Request, _: Principal) -> Response:
        ticket = await self._ticket(ticket_id_of(request))
        return JSONResponse(ticket.model_dump(mode="json"))

    async def close(self, request: Request, principal: Principal) -> Response:
        ticket_id = ticket_id_of(request)
        req = await self.guard.parse(request, CloseReviewRequest, "review")
        now = datetime.now(UTC)
        try:
            closed = await self.tickets.close_review(ticket_id, req.resolution, now)
        except ProviderError as exc:
            raise unavailable(exc) from None
        read_back = await self._ticket(ticket_id)
        if read_back.status != "closed":
            raise RejectionError(
                502, "not_verified", f"review {ticket_id} still reads {read_back.status!r}"
            )
        resolution = read_back.resolution or closed.resolution or req.resolution
        ticket = read_back.model_copy(update={"resolution": resolution})
        stored: StoredEvent = await self.audit.append(
            close_event(ticket, principal.name, resolution, now)
        )
        _log.info("review closed", ticket=ticket_id, by=principal.name, seq=stored.seq)
        return JSONResponse(
            {
                "ticket": ticket.model_dump(mode="json"),
                "closed_by": stored.actor,
                "closed_at": stored.at.isoformat(),
                "audit_seq": stored.seq,
            }
        )

    def routes(self) -> list[BaseRoute]:
        route = self.guard.route
        return [
            Route(
                "/v1/reviews/{ticket:path}/close",
                route(Role.RESPONDER, self.close),
                methods=["POST"],
            ),
            Route("/v1/reviews/{ticket:path}", route(Role.VIEWER, self.show), methods=["GET"]),
        ]


def unavailable(exc: ProviderError) -> RejectionError:
    """The ticket system failed: 503 (retry) when it may pass, else 502 with its reason."""
    if exc.retryable:
        return RejectionError(
            503, "unavailable", f"the ticket system is unavailable; retry later ({exc})"
        )
    return RejectionError(502, "ticket_system_refused", f"the ticket system refused: {exc}")
