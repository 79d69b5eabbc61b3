"""A flag change that asks the safety ledger first, in the same activity (issue 15).

Every destructive step asks the ledger (kill switch, circuit breaker) before its effect: a local
activity, then the effect's own activity. For the key's first change, the one users wait for, that
local activity cost a second workflow task before the activity could be scheduled (4-5 ms of the
first change's 50 on the 2-core machine, docs/BENCHMARKS.md). Here the activity asks the ledger
itself, with the same request and idempotency key: allowed, it makes the change and returns the
answer with the result; refused, or unanswered (the orchestrator does not act blind), it changes
nothing and fails with :data:`~orchestrator.activities.types.ACTION_REFUSED`, not retried, the
answer in its details. The occurrence's own step asks the ledger again as it always does, and the
ledger answers "authorized before" for the same key.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from orchestrator.activities.flags import FlagActivities
from orchestrator.activities.ops_types import AuthorizeInput
from orchestrator.activities.safety import SafetyActivities
from orchestrator.activities.types import (
    ACTION_REFUSED,
    APPLY_GATED_FLAG_CHANGE,
    GatedFlagChangeInput,
    GatedFlagChangeResult,
)
from orchestrator.domain.ops_models import Authorization, unanswered
from orchestrator.errors import OrchestratorError
from orchestrator.secrets import redact_text


def refusal(authorization: Authorization) -> ApplicationError:
    """The failure of a gated change the ledger did not allow: expected (a kill switch, a tripped
    breaker), so benign for the SDK's log; final, the answer in its details."""
    return ApplicationError(
        f"not run: {authorization.detail}",
        authorization.model_dump(mode="json"),
        type=ACTION_REFUSED,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


class GatedChanges:
    def __init__(self, flags: FlagActivities, safety: SafetyActivities) -> None:
        self._flags = flags
        self._safety = safety

    @activity.defn(name=APPLY_GATED_FLAG_CHANGE)
    async def apply_gated_flag_change(self, inp: GatedFlagChangeInput) -> GatedFlagChangeResult:
        try:
            authorization = await self._safety.authorize_action(AuthorizeInput(request=inp.request))
        except (ApplicationError, OrchestratorError) as exc:  # its store failed: the answer is no
            authorization = unanswered(f"{type(exc).__name__}: {redact_text(str(exc))}")
        if not authorization.allowed:
            raise refusal(authorization)
        result = await self._flags.apply_flag_change(inp.change)
        return GatedFlagChangeResult(result=result, authorization=authorization)
