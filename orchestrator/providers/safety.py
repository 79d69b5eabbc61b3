"""The safety ledger: the kill switch and the record the circuit breaker counts, across incidents.

Both outlive any one incident, so they live outside workflows. Workflows reach them through one
activity (:mod:`orchestrator.activities.safety`) before every destructive step, so turning the
kill switch on (``orchestrator kill-switch on``) holds every running incident at its next step.
The local ledger is a JSON file in the state folder, safe for the processes of one host.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from orchestrator.domain.ops_models import ActionRequest, Authorization, KillSwitch
from orchestrator.domain.policy_limits import BreakerLimit, BreakerVerdict, breaker_verdict
from orchestrator.providers.local_json import Document, LockedJsonFile


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


class LocalSafetyLedger:
    def __init__(self, path: Path) -> None:
        self._file = LockedJsonFile(path, "safety ledger")

    def __repr__(self) -> str:
        return f"LocalSafetyLedger({str(self._file.path)!r})"

    async def kill_switch(self) -> KillSwitch:
        return KillSwitch.model_validate((await self._file.read()).get("kill_switch", {}))

    async def set_kill_switch(self, on: bool, *, by: str, reason: str, now: datetime) -> KillSwitch:
        switch = KillSwitch(on=on, by=by, reason=reason, at=now)

        def change(doc: Document) -> KillSwitch:
            doc["kill_switch"] = switch.model_dump(mode="json")
            return switch

        return await self._file.change(change)

    async def authorize(
        self, request: ActionRequest, limit: BreakerLimit, now: datetime, keep_seconds: float
    ) -> Authorization:
        def change(doc: Document) -> Authorization:
            switch = KillSwitch.model_validate(doc.get("kill_switch", {}))
            actions: list[dict[str, object]] = doc.setdefault("actions", [])
            if switch.on:
                detail = f"kill switch on (by {switch.by}: {switch.reason}): notify-only"
                return Authorization(
                    allowed=False, reason="kill-switch", detail=detail, kill_switch=switch
                )
            if any(a.get("key") == request.key for a in actions):
                return Authorization(
                    allowed=True,
                    reason="recorded-before",
                    detail="authorized before (a retry)",
                    kill_switch=switch,
                )
            verdict = _verdict(actions, request, limit, now)
            if request.automated and not verdict.allowed:
                return Authorization(
                    allowed=False,
                    reason="circuit-breaker",
                    detail=verdict.detail,
                    kill_switch=switch,
                )
            horizon = now - timedelta(seconds=keep_seconds)
            doc["actions"] = [a for a in actions if _at(a) > horizon] + [
                {**request.model_dump(mode="json"), "at": now.isoformat()}
            ]
            detail = verdict.detail if request.automated else "decided by a person (not limited)"
            return Authorization(allowed=True, reason="allowed", detail=detail, kill_switch=switch)

        return await self._file.change(change)


def _at(action: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(action["at"]))


def _verdict(
    actions: list[dict[str, object]], request: ActionRequest, limit: BreakerLimit, now: datetime
) -> BreakerVerdict:
    previous = [
        _at(a)
        for a in actions
        if a.get("service") == request.service
        and a.get("action") == request.action
        and a.get("automated") is True
    ]
    return breaker_verdict(previous, now, limit, action=request.action, service=request.service)
