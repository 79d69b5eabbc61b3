"""Severity classification, SEV1 (worst) to SEV4: customer impact, scope, risk, reversibility.

The rubric is documented in ``docs/severity.md``; every row there has a test. Pure: no I/O, no
clock.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from orchestrator.domain.catalog import RiskTier, Slo

FAST_BURN = 14.4
"""Burning 2 % of a 30-day error budget in one hour (the classic page threshold)."""
SLOW_BURN = 6.0
"""Burning 5 % of the budget in six hours."""
DEVIATION_SEVERE = 0.5
DEVIATION_HIGH = 0.1


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 for SEV1 (worst) to 4 for SEV4."""
        return int(self.value[-1])

    def at_least(self, other: Severity) -> bool:
        """True when this severity is as bad as ``other`` or worse."""
        return self.rank <= other.rank


class SeverityAssessment(BaseModel):
    """The severity with every input that produced it, so the audit record explains itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Severity
    score: int
    impact: int
    burn_tier: int
    deviation_tier: int
    deviation: float | None
    risk_tier: RiskTier
    scope: str
    reversible: bool
    explanation: str


def deviation_past_objective(observed: float | None, slo: Slo) -> float | None:
    """How far past the objective the observation is, relative to it (0.5 = 50 % past).

    None when unknown; 0.0 when the observation does not breach at all.
    """
    if observed is None or slo.objective == 0:
        return None
    gap = observed - slo.objective if slo.comparison == "<=" else slo.objective - observed
    return max(gap, 0.0) / abs(slo.objective)


def burn_tier(burn_rate: float | None) -> int:
    if burn_rate is None:
        return -1
    if burn_rate >= FAST_BURN:
        return 3
    if burn_rate >= SLOW_BURN:
        return 2
    return 1 if burn_rate >= 1.0 else 0


def deviation_tier(deviation: float | None) -> int:
    if deviation is None:
        return -1
    if deviation >= DEVIATION_SEVERE:
        return 3
    if deviation >= DEVIATION_HIGH:
        return 2
    return 1 if deviation > 0 else 0


_RISK_POINTS = {RiskTier.HIGH: 2, RiskTier.MEDIUM: 1, RiskTier.LOW: 0}


def severity_for_score(score: int) -> Severity:
    if score >= 6:
        return Severity.SEV1
    if score == 5:
        return Severity.SEV2
    if score >= 3:
        return Severity.SEV3
    return Severity.SEV4


def classify(
    *,
    slo: Slo,
    risk_tier: RiskTier,
    observed: float | None,
    burn_rate: float | None,
    segmented: bool,
) -> SeverityAssessment:
    """Classify a firing breach.

    impact   = the worse of the burn-rate tier and the deviation tier (0-3); 1 when both are
               unknown, since the breach was reported but not measured;
    score    = impact + risk points (high 2, medium 1, low 0) + 1 if everyone is affected
               + 1 if the mitigation is not reversible;
    severity = SEV1 for 6-7, SEV2 for 5, SEV3 for 3-4, SEV4 for 0-2.
    """
    deviation = deviation_past_objective(observed, slo)
    b_tier, d_tier = burn_tier(burn_rate), deviation_tier(deviation)
    impact = max(b_tier, d_tier)
    if impact < 0:
        impact = 1
    scope_points = 0 if segmented else 1
    reversibility_points = 0 if slo.reversible else 1
    score = impact + _RISK_POINTS[risk_tier] + scope_points + reversibility_points
    severity = severity_for_score(score)
    scope = "segment" if segmented else "all users"
    explanation = (
        f"{severity.value}: impact {impact} (burn tier {b_tier}, deviation tier {d_tier}) + risk "
        f"{risk_tier.value} {_RISK_POINTS[risk_tier]} + scope {scope} {scope_points} + "
        f"{'reversible 0' if slo.reversible else 'not reversible 1'} = {score}"
    )
    return SeverityAssessment(
        severity=severity,
        score=score,
        impact=impact,
        burn_tier=b_tier,
        deviation_tier=d_tier,
        deviation=deviation,
        risk_tier=risk_tier,
        scope=scope,
        reversible=slo.reversible,
        explanation=explanation,
    )
