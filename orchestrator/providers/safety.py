"""The safety ledger's contract: the kill switch and the record the circuit breaker counts.

Both outlive any one incident and every worker host, so they live outside workflows, in the audit
database (:class:`orchestrator.activities.safety_ledger.SharedSafetyLedger`). Workflows reach them
through one local activity (:mod:`orchestrator.activities.safety`) before every destructive step
(or, for a key's first flag change, from that change's own activity,
:mod:`orchestrator.activities.gated`),
so turning the kill switch on (``orchestrator safety kill-switch on``) holds every running
incident, on every worker, at its next destructive step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from orchestrator.domain.ops_models import ActionRequest, Authorization, KillSwitch
from orchestrator.domain.policy_limits import BreakerLimit


class SafetyLedger(Protocol):
    async def kill_switch(self) -> KillSwitch: ...

    async def set_kill_switch(
        self, on: bool, *, by: str, reason: str, now: datetime
    ) -> KillSwitch: ...

    async def authorize(
        self, request: ActionRequest, limit: BreakerLimit, now: datetime, keep_seconds: float
    ) -> Authorization:
        """Check the kill switch and the breaker and, if allowed, record the action — atomically."""
        ...
