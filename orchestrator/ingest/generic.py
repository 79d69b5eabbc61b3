"""The project's own breach-signal JSON, for senders that are neither Alertmanager nor Grafana.

The body is one signal object, or an array of them (at most ``max_alerts``). Its JSON Schema is
:func:`generic_schema` (also in docs/openapi.yaml). ``dimension`` may be left out when the catalog
knows the SLO, and the segment may come from ``labels`` when the SLO has ``segment_by``.
Redelivering the same body is idempotent: without a ``dedupe_key`` one is derived from the
signal's content and the five-minute bucket it arrived in (:data:`DEDUPE_BUCKET`), so a
retry within the bucket is a duplicate while the same content sent again later (a re-fire after a
resolve) is a new signal. Senders that can should send their own ``dedupe_key``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus, Slug
from orchestrator.ingest.delivery import ParseContext, Parsed, problem
from orchestrator.ingest.limits import RejectionError, check_alert_count
from orchestrator.ingest.mapping import (
    catalog_match,
    describe_signal_error,
    segment_from_labels,
    shown,
)
from orchestrator.secrets import redact_text

SOURCE = "generic"
DEDUPE_BUCKET_SECONDS = 300
"""Signals without a dedupe_key: the same content within one bucket of this many seconds (by
arrival, UTC, aligned to the epoch) is one signal."""


class GenericSignal(BaseModel):
    """A breach (or its resolution) of one SLO of one service, as posted to ``POST /v1/signals``."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="GenericSignal")

    service: Slug = Field(description="Service name as in the catalog.")
    slo: Slug = Field(description="SLO name as in the catalog.")
    dimension: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="accuracy, latency, fairness, reliability; taken from the catalog if omitted.",
    )
    status: SignalStatus = Field(
        default=SignalStatus.FIRING,
        description="firing starts or joins an incident; resolved never starts one.",
    )
    segment: Segment | str | None = Field(
        default=None,
        description='The affected user segment, "key=value" or {"key": ..., "value": ...}.',
    )
    observed: float | None = Field(default=None, description="The observed SLI value.")
    objective: float | None = Field(default=None, description="The objective it is held to.")
    window: str | None = Field(default=None, max_length=32, description="e.g. 1h, 30d.")
    burn_rate: float | None = Field(default=None, ge=0, description="Error-budget burn rate.")
    dedupe_key: str = Field(
        default="",
        max_length=200,
        description="Identifies this delivery; redeliveries with the same key are deduplicated.",
    )
    started_at: datetime | None = Field(default=None, description="When the breach began.")
    labels: dict[str, str] = Field(default_factory=dict, max_length=64)
    reason: str | None = Field(default=None, max_length=2000)


def generic_schema() -> dict[str, Any]:
    return GenericSignal.model_json_schema(ref_template="#/components/schemas/{model}")


def _dedupe_key(signal: GenericSignal, received_at: datetime) -> str:
    if signal.dedupe_key:
        return f"{SOURCE}:{signal.dedupe_key}"
    bucket = int(received_at.timestamp()) // DEDUPE_BUCKET_SECONDS
    canonical = json.dumps(signal.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{canonical}|{bucket}".encode()).hexdigest()[:32]
    return f"{SOURCE}:{digest}"


def _to_signal(index: int, item: Any, ctx: ParseContext) -> BreachSignal:
    try:
        signal = GenericSignal.model_validate(item)
        segment = Segment.parse(signal.segment) if isinstance(signal.segment, str) else None
    except pydantic.ValidationError as exc:
        raise ValueError(describe_signal_error(exc)) from None
    match = catalog_match(ctx.slos, signal.service, signal.slo)
    dimension = signal.dimension or (match.dimension if match else None)
    if dimension is None:
        raise ValueError(
            f"unknown service/SLO {shown(signal.service)}/{shown(signal.slo)}: not in the"
            " catalog, and no dimension given"
        )
    fields = signal.model_dump(exclude={"dedupe_key", "segment", "dimension"})
    fields["segment"] = segment if isinstance(signal.segment, str) else signal.segment
    if match is not None:
        fields.update(service=match.service, slo=match.slo)
        if fields["segment"] is None:
            fields["segment"] = segment_from_labels(signal.labels, match.segment_by)
    try:
        return BreachSignal.model_validate(
            {
                **fields,
                "dimension": dimension,
                "source": SOURCE,
                "dedupe_key": _dedupe_key(signal, ctx.received_at),
                "received_at": ctx.received_at,
            }
        )
    except pydantic.ValidationError as exc:
        raise ValueError(describe_signal_error(exc)) from None


def parse(document: Any, ctx: ParseContext) -> Parsed:
    if isinstance(document, dict):
        items: list[Any] = [document]
    elif isinstance(document, list):
        if not document:
            raise RejectionError(422, "invalid_payload", "an empty array carries no signals")
        check_alert_count(len(document), ctx.max_alerts)
        items = document
    else:
        raise RejectionError(
            422, "invalid_payload", "the body must be a signal object or an array of them"
        )
    signals: list[BreachSignal] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            signals.append(_to_signal(index, item, ctx))
        except ValueError as exc:
            problems.append(problem(index, redact_text(str(exc))))
    if problems:
        raise RejectionError(
            422,
            "invalid_signals",
            f"{len(problems)} of {len(items)} signals are invalid; nothing was submitted",
            problems=problems,
        )
    return Parsed(signals=signals)
