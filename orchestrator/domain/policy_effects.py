"""What an incident has done, and the pure rules for not repeating it and for undoing it.

Every effect a step applies is kept as an :class:`EffectRecord` with the recipe to undo it. From
these records: a step of another playbook with the same effect is not run again (escalation), the
temporary ones are undone newest first when the SLO has recovered (resolution), and the reversible
ones are undone newest first when a later step fails for good (compensation).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.actions import ActionSpec
from orchestrator.domain.severity import Severity

UndoKind = Literal["flag_rule", "flag_default", "version", "replicas", "freeze"]


class Undo(BaseModel):
    """How to undo one effect: only while the target still shows what the step set (``expect``),
    so an undo never overwrites a change somebody made since."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: UndoKind
    target: str
    """The flag key, component or freeze id."""
    ref: str | None = None
    """The targeting rule the step added (``flag_rule``)."""
    expect: str | None = None
    """What the step set: the variation, version or replica count."""
    restore: str | None = None
    """What was there before: the variation, version or replica count."""
    holding: str | None = None
    """The held change (holdings ledger target) this step holds: undo leaves it, and the last
    holder reverts it to the state from before the first. None: an effect of an incident that
    started before held changes (undone by ``ref``/``expect``/``restore``)."""
    holder: str | None = None


class EffectRecord(BaseModel):
    """One applied effect of the incident, in the order applied."""

    model_config = ConfigDict(extra="forbid")

    key: str
    """:func:`effect_key` of the step: the same effect has the same key in any playbook."""
    playbook: str
    step_id: str
    action: str
    summary: str
    temporary: bool = False
    compensate: bool = True
    undo: Undo | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    undone: bool = False
    undo_detail: str = ""


def effect_key(spec: ActionSpec, args: BaseModel) -> str | None:
    """The identity of the effect a step would have (action and identifying arguments), or None
    for repeatable actions (waits), which are never "already done"."""
    if spec.repeatable:
        return None
    identity = json.dumps(spec.effect_args(args), sort_keys=True, separators=(",", ":"))
    return f"{spec.name}:{identity}"


def already_done(effects: Sequence[EffectRecord], key: str | None) -> EffectRecord | None:
    """The earlier record of the same effect (still in place), if the incident has one."""
    if key is None:
        return None
    return next((e for e in effects if e.key == key and not e.undone), None)


def resolution_undo_plan(effects: Sequence[EffectRecord]) -> list[EffectRecord]:
    """The temporary mitigations to undo once the SLO has recovered, newest first."""
    return [e for e in reversed(effects) if e.temporary and e.undo is not None and not e.undone]


def lasting_holds(effects: Sequence[EffectRecord]) -> list[EffectRecord]:
    """Held effects that stay in place when the incident ends (a rollback that is not
    temporary): the incident stops holding them, so they no longer block other incidents."""
    return [
        e
        for e in effects
        if e.undo is not None and e.undo.holding and e.undo.holder and not e.undone
    ]


def compensation_plan(effects: Sequence[EffectRecord]) -> list[EffectRecord]:
    """The reversible effects to undo after a permanent failure, newest first."""
    return [e for e in reversed(effects) if e.compensate and e.undo is not None and not e.undone]


def is_escalation(current: Severity | None, new: Severity) -> bool:
    """True when ``new`` is strictly worse than ``current`` (severity never goes down here)."""
    return current is None or new.rank < current.rank


def hold_down_remaining(quiet_for: float, hold_down: float) -> float:
    """Seconds still to wait before a resolution counts, after ``quiet_for`` seconds resolved."""
    return max(hold_down - max(quiet_for, 0.0), 0.0)
