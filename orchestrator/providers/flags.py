"""The flag-provider and flag-evaluator interfaces every flag backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from orchestrator.domain.flags import EvalContext, Evaluation, FlagState, Instruction


class FlagProvider(Protocol):
    """Reads and changes flags with LaunchDarkly semantic-patch instructions."""

    async def get_flag(self, key: str) -> FlagState:
        """The flag's current state; FlagProviderError(retryable=False) if it does not exist."""
        ...

    async def apply(
        self,
        key: str,
        instructions: Sequence[Instruction],
        comment: str,
        *,
        expect_version: int | None = None,
    ) -> FlagState:
        """Apply the instructions as one change; return the state after it.

        With ``expect_version``, the change is conditional on the flag's version (the
        ``FlagState.version`` it was planned against): when the flag has another version, raise
        :class:`~orchestrator.errors.FlagConflictError` (retryable) and change nothing; the caller
        reads and plans again (:func:`orchestrator.activities.flag_writes.write_planned`).
        """
        ...


class FlagEvaluator(Protocol):
    """Evaluates flags the way the application does: through the LaunchDarkly server SDK."""

    async def evaluate(self, key: str, context: EvalContext) -> Evaluation: ...

    def close(self) -> None: ...
