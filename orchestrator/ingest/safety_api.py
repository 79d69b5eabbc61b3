"""The safety switches over HTTP: ``GET /v1/safety`` (viewer) and ``POST /v1/safety/kill-switch``
(admin). The kill switch lives in the audit database, shared by every worker; each change is
recorded in the audit history (incident ``safety``) with the principal who made it and why.

``ORCHESTRATOR_KILL_SWITCH`` set on the API's host is a floor: turning the switch off is refused
with 422 (a worker with it set stays notify-only whatever the database says, and an operator on
this host should not be told the switch is off). ``GET /v1/safety`` says whether it is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from uuid import uuid4

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from orchestrator.audit.model import AuditEvent, AuditKind
from orchestrator.audit.store import AuditStore
from orchestrator.domain.ops_models import KillSwitch
from orchestrator.domain.principals import Principal, Role
from orchestrator.ingest.incident_models import KillSwitchRequest
from orchestrator.ingest.limits import RejectionError
from orchestrator.ingest.operators import OperatorGuard

SAFETY_INCIDENT = "safety"
"""The audit history's incident id for changes of the safety switches."""
_log = structlog.get_logger("orchestrator.ingest.safety")
FLOOR_REFUSAL = (
    "ORCHESTRATOR_KILL_SWITCH is set on this API's host: the kill switch cannot be turned off"
    " here. Unset it (and on every worker where it is set: those stay notify-only whatever the"
    " database says), restart, then turn the switch off."
)


class KillSwitchLedger(Protocol):
    """What this API needs of the safety ledger (orchestrator/activities/safety_ledger.py)."""

    async def kill_switch(self) -> KillSwitch: ...

    async def set_kill_switch(
        self, on: bool, *, by: str, reason: str, now: datetime
    ) -> KillSwitch: ...


class SafetyApi:
    def __init__(
        self,
        guard: OperatorGuard,
        ledger: KillSwitchLedger,
        audit: AuditStore,
        *,
        floor: bool = False,
    ) -> None:
        self.guard = guard
        self.ledger = ledger
        self.audit = audit
        self.floor = floor
        """``ORCHESTRATOR_KILL_SWITCH`` on this host: the switch may not be turned off here."""

    async def status(self, _: Request, __: Principal) -> Response:
        switch = await self.ledger.kill_switch()
        return JSONResponse({"kill_switch": switch.model_dump(mode="json"), "floor": self.floor})

    async def kill_switch(self, request: Request, principal: Principal) -> Response:
        req = await self.guard.parse(request, KillSwitchRequest, "kill-switch")
        if not req.on and self.floor:
            _log.warning("kill switch off refused: the floor is set", by=principal.name)
            raise RejectionError(422, "kill_switch_floor", FLOOR_REFUSAL)
        now = datetime.now(UTC)
        switch = await self.ledger.set_kill_switch(
            req.on, by=principal.name, reason=req.reason, now=now
        )
        state = "on" if req.on else "off"
        await self.audit.append(
            AuditEvent(
                event_key=f"{SAFETY_INCIDENT}/kill-switch/{now.isoformat()}/{uuid4().hex}",
                incident_id=SAFETY_INCIDENT,
                kind=AuditKind.SAFETY_CHANGED,
                at=now,
                actor=principal.name,
                summary=f"kill switch {state} by {principal.name}: {req.reason}",
                data={"switch": "kill-switch", "on": req.on, "reason": req.reason},
            )
        )
        _log.warning("kill switch changed", on=req.on, by=principal.name)
        return JSONResponse({"kill_switch": switch.model_dump(mode="json"), "floor": self.floor})

    def routes(self) -> list[BaseRoute]:
        route = self.guard.route
        return [
            Route("/v1/safety", route(Role.VIEWER, self.status), methods=["GET"]),
            Route("/v1/safety/kill-switch", route(Role.ADMIN, self.kill_switch), methods=["POST"]),
        ]
