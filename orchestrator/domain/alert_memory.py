"""Closed-alert memory: which signals for an incident key open, join, or are ignored.

Alertmanager re-sends a firing alert every ``repeat_interval`` and after its own restart, and
deliveries can arrive out of order. An alert is identified by its fingerprint and its start time
(``startsAt``): the same pair is the same alert instance. Per key, the memory keeps the resolved
instances for a while (at least the hold-down plus Alertmanager's repeat interval), so that:

- a firing redelivery of an instance already resolved is ignored (recorded, never re-run);
- a firing that started no later than a remembered resolution of its fingerprint is ignored
  (a late, out-of-order delivery), so it opens nothing;
- a resolution older than the instance firing now is ignored (it resolves an earlier one);
- a resolution with no open occurrence is remembered for the firings that may still come.

Signals with no fingerprint (sent by hand, or generic JSON) are not remembered: they open or join.
Pure: time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.signals import BreachSignal, SignalStatus

DEFAULT_MEMORY = timedelta(hours=4)
MAX_REMEMBERED = 1000
"""Fingerprints kept per key at most (the oldest resolutions go first)."""


class Remembered(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    started_at: datetime | None
    """The resolved instance's start (``startsAt``); None when the sender gave none."""
    resolved_at: datetime
    """When the resolution arrived (memory expires from it)."""


@dataclass(frozen=True)
class Admission:
    """``open``: start an occurrence with it; ``join``: send it to the open occurrence;
    ``ignore``: record why, act on nothing."""

    kind: Literal["open", "join", "ignore"]
    reason: str = ""


def _at(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "no start time"


class AlertMemory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved: dict[str, Remembered] = Field(default_factory=dict)
    """Resolved alert instances by fingerprint (the latest resolved instance of each)."""
    firing: dict[str, datetime | None] = Field(default_factory=dict)
    """The instances firing in the open occurrence, by fingerprint (cleared when it closes)."""

    def admit(self, signal: BreachSignal, *, open_occurrence: bool) -> Admission:
        fp = signal.fingerprint
        started = signal.started_at
        if signal.status is SignalStatus.FIRING:
            known = self.resolved.get(fp) if fp else None
            if known is not None and _not_after(started, known.started_at):
                same = started == known.started_at
                return Admission(
                    "ignore",
                    f"alert {fp} started {_at(started)}"
                    + (
                        " was resolved already: a redelivery, not a new breach"
                        if same
                        else f" is older than its resolution (started {_at(known.started_at)})"
                    ),
                )
            return Admission("join" if open_occurrence else "open")
        if not open_occurrence:
            return Admission(
                "ignore", "no open incident for this key: resolution remembered, nothing started"
            )
        current = self.firing.get(fp) if fp else None
        if current is not None and started is not None and started < current:
            return Admission(
                "ignore",
                f"resolution of alert {fp} started {_at(started)} is older than the instance"
                f" firing now (started {_at(current)})",
            )
        return Admission("join")

    def note(self, signal: BreachSignal, now: datetime) -> None:
        """Remember what an admitted (or ignored) signal says about its alert."""
        fp = signal.fingerprint
        if not fp:
            return
        if signal.status is SignalStatus.FIRING:
            if fp not in self.firing or _not_after(self.firing[fp], signal.started_at):
                self.firing[fp] = signal.started_at
            return
        known = self.resolved.get(fp)
        if known is None or _not_after(known.started_at, signal.started_at):
            self.resolved[fp] = Remembered(started_at=signal.started_at, resolved_at=now)
        if _not_after(self.firing.get(fp), signal.started_at):
            self.firing.pop(fp, None)

    def closed(self) -> None:
        """The open occurrence ended: nothing fires in it any more."""
        self.firing.clear()

    def expire(self, now: datetime, keep: timedelta) -> None:
        cutoff = now - keep
        kept = sorted(
            ((fp, r) for fp, r in self.resolved.items() if r.resolved_at >= cutoff),
            key=lambda item: item[1].resolved_at,
        )
        self.resolved = dict(kept[-MAX_REMEMBERED:])

    def latest(self) -> datetime | None:
        return max((r.resolved_at for r in self.resolved.values()), default=None)


def _not_after(first: datetime | None, second: datetime | None) -> bool:
    """``first <= second``, where an unknown start counts as the same instance."""
    if first is None or second is None:
        return True
    return first <= second


class InstanceOrder(BaseModel):
    """Inside one occurrence: the latest start time seen firing and resolving, per alert.

    Signals reach an occurrence through its key's workflow, and Temporal does not keep the order
    of signals sent together, so a resolution may overtake the firing of the next instance of
    the same alert (it flapped). Ordered by the instances' start times (``startsAt``), a
    resolution of an older instance than the one firing, or a firing of an instance already
    resolved, is stale: recorded, not acted on. Hand-sent signals carry no start time and are
    taken in arrival order, as before."""

    model_config = ConfigDict(extra="forbid")

    firing: dict[str, datetime] = Field(default_factory=dict)
    resolved: dict[str, datetime] = Field(default_factory=dict)

    def stale(self, alert: str, signal: BreachSignal) -> bool:
        started = signal.started_at
        if started is None:
            return False
        if signal.status is SignalStatus.FIRING:
            resolved = self.resolved.get(alert)
            return resolved is not None and started <= resolved
        firing = self.firing.get(alert)
        return firing is not None and started < firing

    def note(self, alert: str, signal: BreachSignal) -> None:
        started = signal.started_at
        if started is None:
            return
        seen = self.firing if signal.status is SignalStatus.FIRING else self.resolved
        if alert not in seen or seen[alert] < started:
            seen[alert] = started
