"""From an alert's labels and annotations to a :class:`BreachSignal`: the documented label mapping.

Each field is looked up in the alert's labels first, then its annotations, trying the listed
names in order; the first non-empty value wins. The defaults understand the labels Sloth and Pyrra
put on their burn-rate alerts (``sloth_service``/``sloth_slo``/``sloth_severity``; ``slo``/
``long``/``severity``) as well as plain ``service``/``slo``/``dimension``/``segment`` labels.
See docs/ingest.md for the table and an example mapping file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import pydantic

from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus
from orchestrator.domain.slo_lookup import NotInCatalogError, SloMatch, SloNames

_MAX_SHOWN = 80


class AlertMappingError(Exception):
    """One alert of a payload cannot become a signal; ``index`` is its position in ``alerts``."""

    def __init__(self, index: int, message: str) -> None:
        self.index = index
        self.message = message
        super().__init__(f"alerts[{index}]: {message}")


@dataclass(frozen=True)
class AlertFacts:
    """What every alert source has in common, as the mapping needs it."""

    index: int
    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    fingerprint: str
    starts_at: datetime | None
    values: Mapping[str, float] | None = None


def shown(value: str) -> str:
    """A value as it may appear in an error message: quoted and cut short."""
    text = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."
    return repr(text)


class _Lookup:
    def __init__(self, alert: AlertFacts) -> None:
        self.alert = alert

    def text(self, names: tuple[str, ...]) -> tuple[str, str] | None:
        for where in (self.alert.labels, self.alert.annotations):
            for name in names:
                value = where.get(name, "").strip()
                if value:
                    return name, value
        return None

    def number(self, names: tuple[str, ...]) -> float | None:
        found = self.text(names)
        if found is None:
            return None
        name, value = found
        try:
            number = float(value)
        except ValueError:
            raise AlertMappingError(
                self.alert.index, f"{name}={shown(value)} is not a number"
            ) from None
        if not math.isfinite(number):
            raise AlertMappingError(
                self.alert.index, f"{name}={shown(value)} is not a finite number"
            )
        return number


def segment_from_labels(labels: Mapping[str, str], segment_by: tuple[str, ...]) -> Segment | None:
    """The segment a rule grouped ``by (language)`` sends: the first ``segment_by`` label set."""
    for name in segment_by:
        value = labels.get(name, "").strip()
        if value:
            return Segment(key=name, value=value)
    return None


def _segment(look: _Lookup, mapping: LabelMapping, segment_by: tuple[str, ...]) -> Segment | None:
    index = look.alert.index
    try:
        found = look.text(mapping.segment)
        if found is not None:
            return Segment.parse(found[1])
        key, value = look.text(mapping.segment_key), look.text(mapping.segment_value)
        if key is None and value is None:
            return segment_from_labels(look.alert.labels, segment_by)
        if key is None or value is None:
            raise AlertMappingError(index, "segment needs both a key and a value label")
        return Segment(key=key[1], value=value[1])
    except (ValueError, pydantic.ValidationError) as exc:
        first = exc.errors()[0]["msg"] if isinstance(exc, pydantic.ValidationError) else str(exc)
        raise AlertMappingError(index, f"invalid segment: {first}") from None


def _burn_rate(look: _Lookup, mapping: LabelMapping, window: str | None) -> float | None:
    explicit = look.number(mapping.burn_rate)
    if explicit is not None:
        if explicit < 0:
            raise AlertMappingError(look.alert.index, "burn rate must not be negative")
        return explicit
    if window is not None and window in mapping.window_burn_rates:
        return mapping.window_burn_rates[window]
    tier = look.text(mapping.tier)
    if tier is not None:
        return mapping.tier_burn_rates.get(tier[1].lower())
    return None


_NAMED_NUMBER = re.compile(
    r"\b(?:observed|value)\b\s*(?:is|of|=|:)?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?!\w)",
    re.IGNORECASE,
)


def number_in_text(text: str) -> float | None:
    """The observation a sentence states: the number right after ``observed`` or ``value``.

    Other numbers (the objective, a percentile's name, a burn factor) are never guessed at.
    """
    named = _NAMED_NUMBER.search(text)
    if named is None:
        return None
    number = float(named.group(1))
    return number if math.isfinite(number) else None


def _observed(look: _Lookup, mapping: LabelMapping) -> float | None:
    observed = look.number(mapping.observed)
    if observed is None and look.alert.values:
        for ref in mapping.grafana_value_refs:
            value = look.alert.values.get(ref)
            if value is not None and math.isfinite(value):
                return value
    if observed is None:
        for name in mapping.observed_text:
            text = look.alert.annotations.get(name, "")
            observed = number_in_text(text[:2000]) if text else None
            if observed is not None:
                return observed
    return observed


def catalog_match(slos: SloNames | None, service: str, slo: str) -> SloMatch | None:
    """The catalog's SLO an alert names (None when the ingest has no catalog).

    Raises ValueError naming the known services or SLOs when the catalog does not have it.
    """
    if slos is None:
        return None
    try:
        return slos.find(service, slo)
    except NotInCatalogError as exc:
        raise ValueError(str(exc)) from None


def dedupe_key(source: str, alert: AlertFacts) -> str:
    """Stable across redeliveries of the same alert state: fingerprint, status and start time."""
    started = alert.starts_at.isoformat() if alert.starts_at else ""
    return f"{source}:{alert.fingerprint}:{alert.status}:{started}"


def alert_to_signal(
    alert: AlertFacts,
    *,
    source: str,
    mapping: LabelMapping,
    received_at: datetime,
    slos: SloNames | None = None,
) -> BreachSignal:
    """The breach signal for one alert; :class:`AlertMappingError` says what is wrong if none."""
    look = _Lookup(alert)
    index = alert.index
    service, slo = look.text(mapping.service), look.text(mapping.slo)
    if service is None:
        raise AlertMappingError(index, f"no service label (looked for {list(mapping.service)})")
    if slo is None:
        raise AlertMappingError(index, f"no SLO label (looked for {list(mapping.slo)})")
    try:
        match = catalog_match(slos, service[1], slo[1])
    except ValueError as exc:
        raise AlertMappingError(index, str(exc)) from None
    found = look.text(mapping.dimension)
    dimension = found[1] if found else (match.dimension if match else None)
    if dimension is None:
        raise AlertMappingError(
            index,
            f"unknown service/SLO {shown(service[1])}/{shown(slo[1])}: not in the catalog, and no"
            f" dimension label (looked for {list(mapping.dimension)})",
        )
    window = look.text(mapping.window)
    reason = look.text(mapping.reason)
    fields = {
        "service": match.service if match else service[1],
        "slo": match.slo if match else slo[1],
        "dimension": dimension,
        "status": SignalStatus(alert.status),
        "segment": _segment(look, mapping, match.segment_by if match else ()),
        "observed": _observed(look, mapping),
        "objective": look.number(mapping.objective),
        "window": window[1] if window else None,
        "burn_rate": _burn_rate(look, mapping, window[1] if window else None),
        "source": source,
        "dedupe_key": dedupe_key(source, alert),
        "started_at": alert.starts_at,
        "fingerprint": alert.fingerprint[:128] or None,
        "received_at": received_at,
        "labels": dict(alert.labels),
        "reason": reason[1][:2000] if reason else None,
    }
    try:
        return BreachSignal.model_validate(fields)
    except pydantic.ValidationError as exc:
        raise AlertMappingError(index, describe_signal_error(exc)) from None


def describe_signal_error(exc: pydantic.ValidationError) -> str:
    """Pydantic's problems with a signal in one line, without echoing the input values."""
    parts = []
    for err in exc.errors()[:5]:
        field = ".".join(str(p) for p in err["loc"])
        parts.append(f"{field}: {err['msg']}" if field else err["msg"])
    return "; ".join(parts)
