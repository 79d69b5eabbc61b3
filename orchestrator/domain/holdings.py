"""Shared ownership of temporary changes: who holds a change, and what it was before.

A temporary change (a flag rule for a segment, a flag's default, a pinned version, a scale, a
release freeze) is a *holding*: the set of incidents (holders, one per occurrence and step) that
need it, the state from before the first holder (the baseline), and what each holder wants.
Apply adds a holder; undo removes it; only the last holder to leave reverts, to the baseline.

The decisions here are pure; the activities keep a holding in a compare-and-swap store shared by
every worker (the audit database) and loop: read the holding, decide, swap, act. Two phases make a
crash at any point safe:

- **capturing**: the first holder claims the holding, *then* reads the baseline, *then* stores it
  with itself as holder, and only then writes. A retry finds its own claim (nothing written yet)
  and reads again, or finds itself a holder and never reads "previous" again.
- **releasing**: the last holder marks the holding, reverts, then deletes it. Nobody can join a
  holding that is being released (they wait and retry), so nobody takes a half-reverted state
  for a baseline.

A claim or release carries a lease: when its owner died, another holder takes it over after the
lease runs out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HoldKind = Literal["flag_rule", "flag_default", "version", "replicas", "freeze"]
Phase = Literal["capturing", "held", "releasing"]
LEASE = timedelta(seconds=30)
"""How long a claim or release stays its owner's before another holder may take it over."""
TARGET_MAX = 200
ON = "on"
"""The value of a held segment rule or freeze while it is in place (``""`` when it is not)."""


class Holder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=300)
    """``<occurrence id>/<step id>``: stable across retries, replays and workflow resets."""
    desired: str = ""
    """What this holder wants in place (a variation, a version, a replica count; "" for rules and
    freezes, where every holder wants the same thing)."""
    since: datetime


class Holding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(min_length=1, max_length=TARGET_MAX)
    kind: HoldKind
    phase: Phase
    owner: str
    """The holder running the claim or release (the last one to act, once held)."""
    lease_until: datetime
    baseline: str | None = None
    """The state from before the first holder; None while capturing."""
    holders: tuple[Holder, ...] = ()
    spec: dict[str, Any] = Field(default_factory=dict)
    """What the change is, enough to revert it from the holding alone (the flag and its rule,
    the service and component, the freeze id), set by the first holder."""
    releasing_from: str = ""
    """While releasing: what was in place when the last holder left (the revert happens only
    while the target still shows it, so a person's later change is never overwritten)."""
    pending_from: str = ""
    """A holder left and what the others need moved from this value: the re-apply is owed
    (done by the leaver, by its retry after a crash, or first by the next holder to leave)."""

    def holds(self, holder: str) -> bool:
        return any(h.id == holder for h in self.holders)

    def busy(self, holder: str, now: datetime) -> bool:
        """Someone else's claim or release, still within its lease."""
        return self.phase != "held" and self.owner != holder and self.lease_until > now

    @property
    def effective(self) -> str:
        """What should be in place while the holding is held: the most any holder wants for
        replicas (never scale below another incident's need), else the latest holder's wish."""
        if not self.holders:
            return self.baseline or ""
        if self.kind == "replicas":
            return str(max(int(h.desired) for h in self.holders))
        return self.holders[-1].desired


def holding_target(kind: HoldKind, *parts: str) -> str:
    """The store key for a change: readable, and never longer than the store allows."""
    text = ":".join((kind, *parts))
    if len(text) <= TARGET_MAX:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{text[: TARGET_MAX - 17]}~{digest}"


def shared_ref(target: str) -> str:
    """The flag-rule ref every holder of a segment rule shares."""
    return f"orchestrator-hold-{hashlib.sha256(target.encode()).hexdigest()[:16]}"


def holder_id(occurrence: str, step_id: str) -> str:
    return f"{occurrence}/{step_id}"


# -- joining --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinStep:
    """``held``: already a holder (a retry): use ``holding`` as stored. ``finish``: a release
    whose owner died: revert ``holding`` to its baseline and delete it, then plan again (a new
    holder never builds on a half-reverted change). ``claim``: store
    ``holding`` (a capture claim), then read the baseline and store :func:`captured`. ``add``:
    store :func:`joined` of ``holding``. ``wait``: another holder's claim or release is in
    flight: retry later."""

    kind: Literal["held", "finish", "claim", "add", "wait"]
    holding: Holding | None = None


def plan_join(
    current: Holding | None,
    *,
    target: str,
    kind: HoldKind,
    holder: str,
    now: datetime,
    spec: dict[str, Any] | None = None,
) -> JoinStep:
    claim = Holding(
        target=target,
        kind=kind,
        phase="capturing",
        owner=holder,
        lease_until=now + LEASE,
        spec=spec or {},
    )
    if current is None:
        return JoinStep("claim", claim)
    if current.phase == "held" and current.holds(holder):
        return JoinStep("held", current)
    if current.busy(holder, now):
        return JoinStep("wait", current)
    if current.phase == "capturing":
        return JoinStep("claim", claim)
    if current.phase == "releasing":
        mine = current.model_copy(update={"owner": holder, "lease_until": now + LEASE})
        return JoinStep("finish", mine)
    return JoinStep("add", current)


def joined(current: Holding, holder: Holder) -> Holding:
    """``current`` with ``holder`` added (last, so its wish is the latest)."""
    return current.model_copy(
        update={
            "phase": "held",
            "owner": holder.id,
            "holders": (*(h for h in current.holders if h.id != holder.id), holder),
        }
    )


def captured(claim: Holding, baseline: str, holder: Holder) -> Holding:
    """The claim, with the baseline read and its first holder: safe to write now."""
    return claim.model_copy(update={"phase": "held", "baseline": baseline, "holders": (holder,)})


# -- leaving --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveStep:
    """``gone``: no holding, or this holder left it already (a retry): nothing to do.
    ``drop``: this holder's own unfinished claim (nothing was written): delete it.
    ``settle``: a holder that left before died owing its re-apply (``pending_from``): bring the
    target from it to ``holding.effective`` and clear it, then plan again (a leave or release
    compares the target with ``effective``, which it shows only once the re-apply is done).
    ``leave``: store ``holding`` (without this holder; others still need the change; apply
    ``holding.effective`` if it moved). ``release``: store ``holding`` (releasing), revert to the
    baseline, then delete. ``wait``: another holder's claim or release is in flight."""

    kind: Literal["gone", "drop", "settle", "leave", "release", "wait"]
    holding: Holding | None = None


def plan_leave(current: Holding | None, *, holder: str, now: datetime) -> LeaveStep:
    if current is None:
        return LeaveStep("gone")
    if current.phase == "releasing":
        if current.busy(holder, now):
            return LeaveStep("wait", current)
        mine = current.model_copy(update={"owner": holder, "lease_until": now + LEASE})
        return LeaveStep("release", mine)
    if current.phase == "capturing":
        if current.owner == holder:
            return LeaveStep("drop", current)
        return LeaveStep("gone")
    if not current.holds(holder):
        return LeaveStep("gone")
    if current.pending_from:
        return LeaveStep("settle", current)
    rest = tuple(h for h in current.holders if h.id != holder)
    if rest:
        kept = current.model_copy(update={"holders": rest})
        if kept.effective != current.effective:
            kept = kept.model_copy(update={"pending_from": current.effective})
        return LeaveStep("leave", kept)
    releasing = current.model_copy(
        update={
            "phase": "releasing",
            "owner": holder,
            "lease_until": now + LEASE,
            "holders": (),
            "releasing_from": current.effective,
        }
    )
    return LeaveStep("release", releasing)
