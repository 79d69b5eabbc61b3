"""What every source parser shares: its context, its result, and how problems become a 422."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic

from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.domain.signals import BreachSignal
from orchestrator.domain.slo_lookup import SloNames
from orchestrator.domain.yamltext import dotted
from orchestrator.ingest.limits import RejectionError, check_alert_count
from orchestrator.ingest.mapping import (
    AlertFacts,
    AlertMappingError,
    alert_to_signal,
)
from orchestrator.secrets import redact_text

_GO_ZERO_YEAR = 1


@dataclass(frozen=True)
class ParseContext:
    mapping: LabelMapping
    max_alerts: int
    received_at: datetime
    slos: SloNames | None = None
    """The catalog's SLO names, when the ingest has a catalog."""


@dataclass(frozen=True)
class Parsed:
    """The signals of one delivery, in payload order, and what the sender says it left out."""

    signals: list[BreachSignal]
    truncated_alerts: int = 0
    group_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Parser = Callable[[Any, ParseContext], Parsed]


def problem(index: int | None, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {"message": redact_text(message)}
    if index is not None:
        out["alert"] = index
    return out


def invalid_payload(exc: pydantic.ValidationError, kind: str) -> RejectionError:
    """A 422 listing what the payload model found wrong, by location, without the input values."""
    problems = []
    for err in exc.errors()[:20]:
        loc = [p for p in err["loc"] if p not in ("function-after", "tagged-union")]
        index = loc[1] if len(loc) > 1 and loc[0] == "alerts" and isinstance(loc[1], int) else None
        where = dotted(loc)
        entry = problem(index, f"{where}: {err['msg']}" if where else err["msg"])
        problems.append(entry)
    return RejectionError(
        422, "invalid_payload", f"the body is not a valid {kind} payload", problems=problems
    )


def require_object(document: Any, kind: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise RejectionError(422, "invalid_payload", f"a {kind} payload must be a JSON object")
    return document


def check_alerts_array(document: dict[str, Any], max_alerts: int) -> None:
    """Bound the alert count before any per-alert work is done."""
    alerts = document.get("alerts")
    if isinstance(alerts, list):
        check_alert_count(len(alerts), max_alerts)


def start_time(value: datetime | None) -> datetime | None:
    """None for Go's zero time (``0001-01-01T00:00:00Z``), which senders use for "unset"."""
    if value is None or value.year <= _GO_ZERO_YEAR:
        return None
    return value


def label_fingerprint(labels: dict[str, str]) -> str:
    """A stand-in fingerprint from the label set, for senders that do not send one."""
    canonical = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def map_alerts(facts: Sequence[AlertFacts], source: str, ctx: ParseContext) -> list[BreachSignal]:
    """Map every alert; if any cannot become a signal, refuse the whole payload naming each."""
    signals: list[BreachSignal] = []
    problems: list[dict[str, Any]] = []
    for alert in facts:
        try:
            signals.append(
                alert_to_signal(
                    alert,
                    source=source,
                    mapping=ctx.mapping,
                    received_at=ctx.received_at,
                    slos=ctx.slos,
                )
            )
        except AlertMappingError as exc:
            problems.append(problem(exc.index, exc.message))
    if problems:
        raise RejectionError(
            422,
            "invalid_alerts",
            f"{len(problems)} of {len(facts)} alerts cannot become breach signals;"
            " nothing was submitted",
            problems=problems,
        )
    return signals
