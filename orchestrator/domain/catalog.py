"""The service and SLO catalog: what is promised, to whom, and what automation may touch."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.domain.shared import UNSHARED, SharedWhenDecoded
from orchestrator.domain.signals import BreachSignal, Slug
from orchestrator.domain.sli import Sli, check_sli
from orchestrator.domain.yamltext import describe_pydantic, parse_yaml
from orchestrator.errors import CatalogError

DEFAULT_DIMENSIONS = ("accuracy", "latency", "fairness", "reliability")


class RiskTier(StrEnum):
    """How much harm a failure of the journey does (money, legal exposure, trust)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Owner(_Frozen):
    team: str
    oncall: str


class FlagSpec(_Frozen):
    """A feature flag a playbook may change, with its variations (by value) and default."""

    key: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")
    description: str = ""
    variations: tuple[str, ...] = Field(min_length=2)
    default: str

    @model_validator(mode="after")
    def _default_is_a_variation(self) -> FlagSpec:
        if self.default not in self.variations:
            raise ValueError(f"default {self.default!r} is not one of {list(self.variations)}")
        if len(set(self.variations)) != len(self.variations):
            raise ValueError("variations must be distinct")
        return self


class ComponentVersion(_Frozen):
    """A deployable component (model, prompt template, retrieval config) and its known-good pin."""

    current: str
    known_good: str


class Journey(_Frozen):
    name: Slug
    description: str = ""
    risk_tier: RiskTier = RiskTier.MEDIUM


class Slo(_Frozen):
    name: Slug
    dimension: str = Field(min_length=1, max_length=64)
    metric: str
    objective: float
    comparison: Literal[">=", "<="]
    """``>=`` for rates that must stay high, ``<=`` for latencies and gaps that must stay low."""
    unit: str = ""
    window: str
    journey: Slug
    reversible: bool = True
    """True when the mitigation is a flag or pin that can be undone in seconds."""
    action: str = ""
    """What the SLO table says to do on breach (documentation; playbooks do the doing)."""
    sli: Sli | None = None
    """How to measure it in Prometheus (orchestrator/domain/sli.py); needed by ``slo rules``."""
    runbook_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """Where responders read what to do; the generated alerts link it."""

    @model_validator(mode="after")
    def _sli_agrees(self) -> Slo:
        if self.sli is not None:
            check_sli(
                self.sli,
                objective=self.objective,
                comparison=self.comparison,
                unit=self.unit,
                window=self.window,
            )
        return self


class Service(_Frozen, SharedWhenDecoded):
    name: Slug
    description: str = ""
    owner: Owner
    journeys: tuple[Journey, ...] = Field(min_length=1)
    slos: tuple[Slo, ...] = Field(min_length=1)
    flags: tuple[FlagSpec, ...] = ()
    versions: dict[str, ComponentVersion] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_resolve(self) -> Service:
        journeys = {j.name for j in self.journeys}
        for i, slo in enumerate(self.slos):
            if slo.journey not in journeys:
                raise ValueError(f"slos[{i}] ({slo.name}): unknown journey {slo.journey!r}")
        for kind, names in (
            ("slo", [s.name for s in self.slos]),
            ("flag", [f.key for f in self.flags]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} names: {dupes}")
        return self

    def slo(self, name: str) -> Slo:
        for slo in self.slos:
            if slo.name == name:
                return slo
        raise CatalogError(f"service {self.name!r} has no SLO {name!r}", "catalog")

    def journey(self, name: str) -> Journey:
        return next(j for j in self.journeys if j.name == name)

    def flag(self, key: str) -> FlagSpec | None:
        return next((f for f in self.flags if f.key == key), None)


class Catalog(_Frozen):
    dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS
    services: tuple[Service, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        names = [s.name for s in self.services]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate service names: {dupes}")
        for service in self.services:
            for slo in service.slos:
                if slo.dimension not in self.dimensions:
                    raise ValueError(
                        f"service {service.name}: SLO {slo.name} has dimension {slo.dimension!r},"
                        f" not one of the catalog's dimensions {list(self.dimensions)}"
                    )
        return self

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        known = ", ".join(s.name for s in self.services)
        raise CatalogError(f"unknown service {name!r} (catalog has: {known})", "catalog")

    def resolve(self, signal: BreachSignal) -> tuple[Service, Slo]:
        """The service and SLO a signal is about; an error if either is unknown or disagrees."""
        service = self.service(signal.service)
        slo = service.slo(signal.slo)
        if signal.dimension != slo.dimension:
            raise CatalogError(
                f"signal says dimension {signal.dimension!r} but SLO {slo.name!r} is"
                f" {slo.dimension!r}",
                "signal",
            )
        return service, slo


def _json_only(value: object) -> bool:
    """True when ``value`` is what JSON holds: str-keyed mappings, lists, text, numbers, bools."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_only(v) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool)


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate catalog YAML into a :class:`Catalog`, reporting every problem with its location."""
    data = parse_yaml(text, source, CatalogError)
    if not isinstance(data, dict):
        raise CatalogError("the catalog must be a mapping with a 'services' list", source)
    try:
        # Validated from JSON once the parsed tree is gone: a big catalog's YAML tree, freed
        # while the models built from it live on, left the process 5x the catalog's size
        # (1,000 services: 125 MB held, 24 MB this way). YAML only JSON cannot say (a date,
        # a number as a mapping key) is validated as parsed.
        blob = json.dumps(data, allow_nan=False) if _json_only(data) else None
        if blob is None:
            return Catalog.model_validate(data)
        del data
        # not through the worker's cache of decoded services: it holds what it keeps
        return Catalog.model_validate_json(blob, context=UNSHARED)
    except pydantic.ValidationError as exc:
        raise CatalogError("\n".join(describe_pydantic(exc, source))) from exc
