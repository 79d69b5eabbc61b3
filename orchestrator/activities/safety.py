"""The safety gate in front of every destructive step: kill switch and circuit breaker.

Run as a local activity (no task-queue round trip) right before the step's effect: a safety limit
has to be checked before the action, and this keeps the delay it adds to mitigation small. A key's
first flag change asks it from inside its own activity instead (:mod:`.gated`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import activity

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.activities.ops_types import AUTHORIZE_ACTION, AuthorizeInput, AuthorizeResult
from orchestrator.activities.releases import utc_now
from orchestrator.domain.policy_limits import SafetyLimits
from orchestrator.errors import ProviderError
from orchestrator.providers.safety import SafetyLedger


class SafetyActivities:
    def __init__(
        self, ledger: SafetyLedger, limits: SafetyLimits, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._ledger = ledger
        self._limits = limits
        self._clock = clock

    @activity.defn(name=AUTHORIZE_ACTION)
    async def authorize_action(self, inp: AuthorizeInput) -> AuthorizeResult:
        req = inp.request
        limit = self._limits.limit_for(req.service, req.action)
        try:
            return await self._ledger.authorize(
                req, limit, self._clock(), keep_seconds=self._limits.longest_window
            )
        except ProviderError as exc:
            raise permanent_or_retryable(exc) from exc
