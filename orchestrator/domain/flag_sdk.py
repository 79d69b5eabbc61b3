"""The server-SDK "full flag" JSON of a :class:`~orchestrator.domain.flags.FlagState`.

Pure: no I/O. :func:`to_sdk_flag` renders what a LaunchDarkly server SDK reads from a file data
source or a polling payload.
"""

from __future__ import annotations

from typing import Any

from orchestrator.domain.flags import FlagState, stable_id
from orchestrator.errors import FlagRuleError


def _index(state: FlagState, variation_id: str | None, where: str) -> int:
    for n, variation in enumerate(state.variations):
        if variation.id == variation_id:
            return n
    raise FlagRuleError(
        f"flag {state.key!r}: {where} serves a percentage rollout or an unknown variation, which"
        " the SDK rendering does not support",
    )


def to_sdk_flag(state: FlagState) -> dict[str, Any]:
    """The server-SDK "full flag" JSON (file data source ``flags`` entry, polling payload)."""
    flag: dict[str, Any] = {
        "key": state.key,
        "version": state.version,
        "on": state.on,
        "variations": [v.value for v in state.variations],
        "fallthrough": {"variation": _index(state, state.fallthrough_variation_id, "fallthrough")},
        "rules": [
            {
                "id": r.id,
                "variation": _index(state, r.variation_id, f"rule {r.id}"),
                "clauses": [c.model_dump(mode="json") for c in r.clauses],
                "trackEvents": False,
            }
            for r in state.rules
        ],
        "targets": [
            {"values": list(t.values), "variation": _index(state, t.variation_id, "target")}
            for t in state.targets
            if t.context_kind == "user"
        ],
        "contextTargets": [
            {
                "contextKind": t.context_kind,
                "values": [] if t.context_kind == "user" else list(t.values),
                "variation": _index(state, t.variation_id, "target"),
            }
            for t in state.targets
        ],
        "prerequisites": [],
        "salt": stable_id(state.key, "salt").replace("-", ""),
        "trackEvents": False,
        "trackEventsFallthrough": False,
        "clientSide": False,
        "deleted": False,
    }
    if state.off_variation_id is not None:
        flag["offVariation"] = _index(state, state.off_variation_id, "offVariation")
    return flag
