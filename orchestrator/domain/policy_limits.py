"""Safety limits: the per-service circuit breaker on automated actions. Pure.

The breaker allows at most ``max_actions`` automated actions of one kind (a playbook action such
as ``deploy.pin_version``) for one service within ``window_seconds``, across all incidents. The
record of past actions lives outside any one workflow (a :class:`SafetyLedger` provider); the
decision from that record is :func:`breaker_verdict`. Actions a person decided (a manual launch,
an approval, a fast-track) are recorded but never refused: the breaker limits automation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrator.domain.actions import ACTIONS
from orchestrator.domain.yamltext import describe_pydantic, parse_yaml
from orchestrator.errors import CatalogError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _unknown_actions(names: Sequence[str]) -> list[str]:
    return sorted(n for n in names if n not in ACTIONS or not ACTIONS[n].destructive)


class BreakerLimit(_Frozen):
    max_actions: int = Field(ge=0, le=10_000)
    window_seconds: float = Field(gt=0, le=30 * 24 * 3600)


class ServiceLimits(_Frozen):
    default: BreakerLimit | None = None
    actions: dict[str, BreakerLimit] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ServiceLimits:
        unknown = _unknown_actions(list(self.actions))
        if unknown:
            raise ValueError(f"not destructive actions (the breaker counts only those): {unknown}")
        return self


class SafetyLimits(_Frozen):
    """Breaker limits: per service and action, else per service, else per action, else default."""

    default: BreakerLimit = BreakerLimit(max_actions=3, window_seconds=3600)
    actions: dict[str, BreakerLimit] = Field(default_factory=dict)
    services: dict[str, ServiceLimits] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> SafetyLimits:
        unknown = _unknown_actions(list(self.actions))
        if unknown:
            raise ValueError(f"not destructive actions (the breaker counts only those): {unknown}")
        return self

    def limit_for(self, service: str, action: str) -> BreakerLimit:
        per_service = self.services.get(service)
        if per_service is not None:
            found = per_service.actions.get(action) or per_service.default
            if found is not None:
                return found
        return self.actions.get(action) or self.default

    @property
    def longest_window(self) -> float:
        limits = [self.default, *self.actions.values()]
        for svc in self.services.values():
            limits += [*svc.actions.values(), *([svc.default] if svc.default else [])]
        return max(limit.window_seconds for limit in limits)


class BreakerVerdict(_Frozen):
    allowed: bool
    count: int
    """Automated actions of this kind for this service already in the window."""
    limit: BreakerLimit
    detail: str


def breaker_verdict(
    previous: Sequence[datetime], now: datetime, limit: BreakerLimit, *, action: str, service: str
) -> BreakerVerdict:
    """Allow one more automated ``action`` for ``service`` unless the window already holds
    ``limit.max_actions`` of them (``previous``: when the earlier ones ran)."""
    since = now - timedelta(seconds=limit.window_seconds)
    count = sum(1 for at in previous if since < at <= now)
    window = f"{limit.window_seconds:g}s"
    if count >= limit.max_actions:
        return BreakerVerdict(
            allowed=False,
            count=count,
            limit=limit,
            detail=f"circuit breaker open: {count} automated {action} for {service} in the last"
            f" {window} (limit {limit.max_actions}); a person must act",
        )
    return BreakerVerdict(
        allowed=True,
        count=count,
        limit=limit,
        detail=f"{count + 1} of {limit.max_actions} automated {action} for {service} in {window}",
    )


def parse_safety_limits(text: str, source: str) -> SafetyLimits:
    """Validate safety-limits YAML (``catalog/safety.yaml``) into :class:`SafetyLimits`."""
    data = parse_yaml(text, source, CatalogError)
    if data is None:
        return SafetyLimits()
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: safety limits must be a mapping")
    breaker = data.get("circuit_breaker", {})
    extra = sorted(set(data) - {"circuit_breaker"})
    if extra:
        raise CatalogError(f"{source}: unknown keys {extra} (expected: circuit_breaker)")
    try:
        return SafetyLimits.model_validate(breaker)
    except pydantic.ValidationError as exc:
        raise CatalogError("\n".join(describe_pydantic(exc, source, "circuit_breaker"))) from exc
