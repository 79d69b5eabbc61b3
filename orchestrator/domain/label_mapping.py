"""Which alert labels or annotations give each field of a breach signal: the label mapping.

Each field is looked up in the alert's labels first, then its annotations, trying the listed
names in order. The defaults understand the labels Sloth and Pyrra put on their burn-rate alerts as
well as plain ``service``/``slo``/``dimension``/``segment`` labels. Pure: the model and its YAML
form; applying it to an alert is :mod:`orchestrator.ingest.mapping`.
"""

from __future__ import annotations

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.domain.severity import FAST_BURN, SLOW_BURN
from orchestrator.domain.yamltext import describe_pydantic, parse_yaml
from orchestrator.errors import ConfigError, ValidationError


class LabelMapping(BaseModel):
    """Which labels or annotations give each field of a breach signal (configurable, documented)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: tuple[str, ...] = ("service", "sloth_service")
    slo: tuple[str, ...] = ("slo", "sloth_slo", "pyrra")
    """Matched to the catalog's SLO names after normalisation (see ``domain/slo_lookup.py``)."""
    dimension: tuple[str, ...] = ("dimension", "slo_dimension")
    """When absent, the dimension comes from the catalog entry of the service and SLO."""
    segment: tuple[str, ...] = ("segment",)
    """A ``key=value`` label such as ``segment="language=es"``; without one, the first of the SLO's
    ``segment_by`` labels the alert carries (``language="es"``) gives the segment."""
    segment_key: tuple[str, ...] = ("segment_key",)
    segment_value: tuple[str, ...] = ("segment_value",)
    observed: tuple[str, ...] = ("observed", "observed_value", "value")
    observed_text: tuple[str, ...] = ("summary",)
    """Annotations whose text may state the observation when no ``observed`` field is set: the
    number right after the word ``observed`` or ``value`` (``observed 0.85``, ``value=0.85``)."""
    objective: tuple[str, ...] = ("objective",)
    burn_rate: tuple[str, ...] = ("burn_rate",)
    window: tuple[str, ...] = ("window", "long", "sloth_window")
    tier: tuple[str, ...] = ("tier", "sloth_severity", "severity")
    """The burn-rate tier label: the generated rules' and Sloth's ``page``/``ticket``, Pyrra's
    ``critical``/``warning``."""
    reason: tuple[str, ...] = ("summary", "description", "title")
    grafana_value_refs: tuple[str, ...] = ("observed",)
    """Grafana query/expression refIds whose value (the alert's ``values``) is the observation."""
    tier_burn_rates: dict[str, float] = Field(
        default_factory=lambda: {
            "page": FAST_BURN,
            "critical": FAST_BURN,
            "ticket": 3.0,
            "warning": 3.0,
        }
    )
    """Burn rate assumed for a tier when no explicit burn rate or known window is given."""
    window_burn_rates: dict[str, float] = Field(
        default_factory=lambda: {"1h": FAST_BURN, "6h": SLOW_BURN, "1d": 3.0, "3d": 1.0, "4d": 1.0}
    )
    """Burn rate of a multi-window alert by its long window (Pyrra's ``long`` label)."""

    @classmethod
    def from_yaml(cls, text: str, source: str) -> LabelMapping:
        try:
            data = parse_yaml(text, source)
        except ValidationError as exc:
            raise ConfigError(str(exc)) from exc
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ConfigError("the label mapping must be a mapping of field to label names", source)
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise ConfigError("\n".join(describe_pydantic(exc, source))) from exc
