"""The shared safety ledger: the kill switch and the circuit breaker's record, in the audit DB.

One record (target ``ledger`` of the ``safety_ledger`` table) holds both the kill switch and the
recent actions, in the compare-and-swap store of :mod:`orchestrator.audit.holdings` (SQLite or
PostgreSQL, the audit store's database), so every worker host and every API replica read and
write the same state.

:meth:`SharedSafetyLedger.authorize` is atomic: it reads the record, decides (kill switch, a
retry of an action recorded before, the breaker) and writes the action back with the version it
read. The write is one conditional statement (``UPDATE ... WHERE version = %s``, run under
``BEGIN IMMEDIATE`` on SQLite and a row lock on PostgreSQL); if anyone wrote in between (another
authorization, the kill switch turned on), it fails and the whole decision is made again on what
is stored now. So an action is only ever recorded against the switch and the actions it was
checked against: two hosts cannot both take the breaker's last place, and no action is recorded
after the switch went on.

``floor`` is ``ORCHESTRATOR_KILL_SWITCH`` on this host: when set, :meth:`authorize` refuses every
action as the kill switch does, whatever the database says (and without asking it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from orchestrator.audit.factory import open_holding_store
from orchestrator.audit.holdings import HoldingStore
from orchestrator.domain.ops_models import ActionRequest, Authorization, KillSwitch
from orchestrator.domain.policy_limits import BreakerLimit, breaker_verdict
from orchestrator.errors import ProviderError

SAFETY_LEDGER_TABLE = "safety_ledger"
LEDGER_TARGET = "ledger"
SWAP_ATTEMPTS = 60
FLOOR_SWITCH = KillSwitch(on=True, by="ORCHESTRATOR_KILL_SWITCH", reason="set on this worker")
"""What the floor looks like in an authorization."""
Doc = dict[str, Any]
T = TypeVar("T")


class SharedSafetyLedger:
    """A :class:`~orchestrator.providers.safety.SafetyLedger` every host shares (see the module)."""

    def __init__(
        self, store: HoldingStore, *, floor: bool = False, attempts: int = SWAP_ATTEMPTS
    ) -> None:
        self._store = store
        self.floor = floor
        """``ORCHESTRATOR_KILL_SWITCH`` on this host: notify-only whatever the database says."""
        self._attempts = attempts
        self._turn = asyncio.Lock()
        """One read-decide-write at a time in this process (see :meth:`_swap`)."""

    def __repr__(self) -> str:
        return f"SharedSafetyLedger({self._store!r}, floor={self.floor})"

    async def kill_switch(self) -> KillSwitch:
        """The switch as the database has it (the floor is this host's, see ``floor``)."""
        stored = await self._store.get(LEDGER_TARGET)
        return _switch(stored.body if stored is not None else {})

    async def set_kill_switch(self, on: bool, *, by: str, reason: str, now: datetime) -> KillSwitch:
        switch = KillSwitch(on=on, by=by, reason=reason, at=now)

        def change(doc: Doc) -> tuple[KillSwitch, Doc]:
            return switch, {**doc, "kill_switch": switch.model_dump(mode="json")}

        return await self._swap(change)

    async def authorize(
        self, request: ActionRequest, limit: BreakerLimit, now: datetime, keep_seconds: float
    ) -> Authorization:
        """Check the kill switch and the breaker and, if allowed, record the action: atomically."""
        if self.floor:
            return Authorization(
                allowed=False,
                reason="kill-switch",
                detail="kill switch on (ORCHESTRATOR_KILL_SWITCH on this worker): notify-only",
                kill_switch=FLOOR_SWITCH,
            )
        return await self._swap(lambda doc: decide(doc, request, limit, now, keep_seconds))

    async def close(self) -> None:
        await self._store.close()

    async def _swap(self, change: Callable[[Doc], tuple[T, Doc | None]]) -> T:
        """Read, decide (the answer, and the record to write: None writes nothing), write back
        with the version read; all again on a lost swap. The swaps of this process take turns:
        they would otherwise lose to each other (100 authorizations at once in one worker made
        about 1,900 reads before all were written); a swap can still lose to another host's."""
        async with self._turn:
            for attempt in range(self._attempts):
                stored = await self._store.get(LEDGER_TARGET)
                answer, body = change(stored.body if stored is not None else {})
                if body is None:
                    return answer
                version = stored.version if stored is not None else 0
                if await self._store.put(LEDGER_TARGET, body, expect_version=version) is not None:
                    return answer
                await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311
        raise ProviderError(f"the safety ledger stayed busy for {self._attempts} attempts")


def decide(
    doc: Doc, request: ActionRequest, limit: BreakerLimit, now: datetime, keep_seconds: float
) -> tuple[Authorization, Doc | None]:
    """The ledger's answer from its stored record, and the record with the action added (None
    when nothing is recorded: a refusal, or a retry of an action recorded before)."""
    switch = _switch(doc)
    actions: list[Doc] = list(doc.get("actions", []))
    if switch.on:
        detail = f"kill switch on (by {switch.by}: {switch.reason}): notify-only"
        refusal = Authorization(
            allowed=False, reason="kill-switch", detail=detail, kill_switch=switch
        )
        return refusal, None
    if any(a.get("key") == request.key for a in actions):
        detail = "authorized before (a retry)"
        again = Authorization(
            allowed=True, reason="recorded-before", detail=detail, kill_switch=switch
        )
        return again, None
    previous = [
        _at(a)
        for a in actions
        if a.get("service") == request.service
        and a.get("action") == request.action
        and a.get("automated") is True
    ]
    verdict = breaker_verdict(previous, now, limit, action=request.action, service=request.service)
    if request.automated and not verdict.allowed:
        refusal = Authorization(
            allowed=False, reason="circuit-breaker", detail=verdict.detail, kill_switch=switch
        )
        return refusal, None
    horizon = now - timedelta(seconds=keep_seconds)
    kept = [a for a in actions if _at(a) > horizon]
    recorded = {
        **doc,
        "actions": [*kept, {**request.model_dump(mode="json"), "at": now.isoformat()}],
    }
    detail = verdict.detail if request.automated else "decided by a person (not limited)"
    allowed = Authorization(allowed=True, reason="allowed", detail=detail, kill_switch=switch)
    return allowed, recorded


def _switch(doc: Doc) -> KillSwitch:
    return KillSwitch.model_validate(doc.get("kill_switch", {}))


def _at(action: Doc) -> datetime:
    return datetime.fromisoformat(str(action["at"]))


def open_safety_ledger(url: str, *, floor: bool = False) -> SharedSafetyLedger:
    """The safety ledger in the audit database ``url`` names (connected on first use)."""
    return SharedSafetyLedger(open_holding_store(url, table=SAFETY_LEDGER_TABLE), floor=floor)


__all__ = [
    "LEDGER_TARGET",
    "SAFETY_LEDGER_TABLE",
    "SharedSafetyLedger",
    "decide",
    "open_safety_ledger",
]
