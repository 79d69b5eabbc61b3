"""An SLO's indicator (SLI) as PromQL building blocks: what ``orchestrator slo rules`` turns into
recording and alerting rules (docs/slo.md).

Three kinds:

``ratio``
    ``good`` and ``total`` counter selectors; the SLI is ``good / total`` (task success,
    escalation success). The SLO's objective is the ratio that must hold (``>=``, in (0, 1)).
``latency``
    a Prometheus histogram (``histogram``, the base name without ``_bucket``) and the bucket
    bound (``threshold_le``) the percentile must stay under: ``p95 <= 800 ms`` holds exactly when
    at least 95 % of events land in the ``le="0.8"`` bucket, so the error budget is the share of
    events above it (``1 - percentile``). ``unit_scale`` turns the metric's unit into the SLO's
    (seconds to ms: 1000); ``threshold_le * unit_scale`` must equal the objective.
``fairness``
    per-segment success ratio (``good / total`` by ``segment_by``) and the gap, in percentage
    points, between each segment and the best-served one. The objective is the largest gap allowed.

``segment_by`` names the labels that define segments (``[language]``); ``min_sample`` is the
number of events a segment needs inside a measurement window before its ratio counts there: a
segment under it is neither alerted on nor used as the best-served reference. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

SELECTOR_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}\[\]]*\})?$"
"""A metric name with optional label matchers: ``name`` or ``name{a="b",c=~"d|e"}``."""
LABEL_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
DURATION_PATTERN = r"^[1-9][0-9]*(ms|s|m|h|d|w)$"
RESERVED_LABELS = frozenset({"service", "slo", "le", "__name__"})
"""Labels the generated rules set or aggregate on themselves: never a segment label."""

Selector = Annotated[str, StringConstraints(pattern=SELECTOR_PATTERN, max_length=1000)]
LabelName = Annotated[str, StringConstraints(pattern=LABEL_PATTERN, max_length=100)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _SliBase(_Frozen):
    segment_by: tuple[LabelName, ...] = ()
    """Labels that define a segment; the SLI is computed (and alerted on) per segment."""
    min_sample: int = Field(default=0, ge=0)
    """Events a segment needs inside a window for its value in that window to count."""

    @model_validator(mode="after")
    def _segments_are_free_labels(self) -> _SliBase:
        reserved = sorted(set(self.segment_by) & RESERVED_LABELS)
        if reserved:
            raise ValueError(f"segment_by may not use {reserved}: the rules set those labels")
        if len(set(self.segment_by)) != len(self.segment_by):
            raise ValueError("segment_by labels must be distinct")
        return self


class _Counted(_SliBase):
    good: Selector
    """Counter of good events, e.g. ``ai_cx_task_judgements_total{outcome="success"}``."""
    total: Selector
    """Counter of all events."""


class RatioSli(_Counted):
    kind: Literal["ratio"]


class LatencySli(_SliBase):
    kind: Literal["latency"]
    histogram: Selector
    """Histogram base name and matchers, e.g. ``ai_cx_time_to_first_token_seconds{...}``."""
    threshold_le: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    """The ``le`` label of the bucket the percentile must stay within, exactly as exported."""
    percentile: float = Field(gt=0, lt=1)
    unit_scale: float = Field(default=1.0, gt=0)
    """Metric unit to the SLO's unit (seconds to milliseconds: 1000)."""

    @model_validator(mode="after")
    def _no_le_matcher(self) -> LatencySli:
        if re.search(r"[{,]\s*le\s*[=!~]", self.histogram):
            raise ValueError("histogram must not match on 'le': threshold_le picks the bucket")
        return self


class FairnessSli(_Counted):
    kind: Literal["fairness"]

    @model_validator(mode="after")
    def _has_segments(self) -> FairnessSli:
        if not self.segment_by:
            raise ValueError("a fairness SLI needs segment_by (the labels that define groups)")
        return self


Sli = Annotated[RatioSli | LatencySli | FairnessSli, Field(discriminator="kind")]


def metric_name(selector: str) -> str:
    """``name{a="b"}`` -> ``name``."""
    return selector.partition("{")[0]


def matchers(selector: str) -> str:
    """``name{a="b"}`` -> ``a="b"`` (empty when the selector has none)."""
    _, _, rest = selector.partition("{")
    return rest.rstrip("}").strip()


def check_sli(sli: Sli, *, objective: float, comparison: str, unit: str, window: str) -> None:
    """The SLI agrees with its SLO's objective, comparison, unit and window; ValueError if not."""
    if not re.match(DURATION_PATTERN, window):
        raise ValueError(f"window {window!r} is not a Prometheus duration such as 30d or 28d")
    if isinstance(sli, RatioSli):
        if comparison != ">=" or not 0 < objective < 1:
            raise ValueError("a ratio SLI needs comparison '>=' and an objective between 0 and 1")
    elif isinstance(sli, LatencySli):
        if comparison != "<=":
            raise ValueError("a latency SLI needs comparison '<='")
        bound = float(sli.threshold_le) * sli.unit_scale
        if not math.isclose(bound, objective, rel_tol=1e-9):
            raise ValueError(
                f"threshold_le {sli.threshold_le} x unit_scale {sli.unit_scale:g} = {bound:g}"
                f" {unit}, but the objective is {objective:g} {unit}"
            )
    elif comparison != "<=" or not 0 < objective < 100 or unit != "points":
        raise ValueError(
            "a fairness SLI needs comparison '<=', unit 'points' and an objective between 0 and 100"
        )
