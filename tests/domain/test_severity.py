"""Every row of docs/severity.md, plus the tier boundaries."""

from __future__ import annotations

import pytest

from orchestrator.domain.catalog import RiskTier, Slo
from orchestrator.domain.severity import (
    Severity,
    burn_tier,
    classify,
    deviation_past_objective,
    deviation_tier,
    severity_for_score,
)


def slo(objective: float, comparison: str, *, reversible: bool = True) -> Slo:
    return Slo.model_validate(
        {
            "name": "x",
            "dimension": "accuracy",
            "metric": "m",
            "objective": objective,
            "comparison": comparison,
            "window": "30d",
            "journey": "j",
            "reversible": reversible,
        }
    )


@pytest.mark.parametrize(
    ("spec", "risk", "observed", "burn", "segmented", "score", "severity"),
    [
        (slo(3, "<="), RiskTier.HIGH, 7.4, 9.2, True, 5, Severity.SEV2),
        (slo(0.92, ">="), RiskTier.HIGH, 0.874, 6.3, True, 4, Severity.SEV3),
        (slo(0.92, ">="), RiskTier.HIGH, 0.80, 16, False, 6, Severity.SEV1),
        (slo(0.99, ">=", reversible=False), RiskTier.HIGH, 0.97, 2, False, 5, Severity.SEV2),
        (slo(800, "<="), RiskTier.LOW, 850, 0.5, True, 1, Severity.SEV4),
        (slo(0.92, ">="), RiskTier.MEDIUM, None, None, False, 3, Severity.SEV3),
        (slo(0.92, ">="), RiskTier.HIGH, 0.95, None, True, 2, Severity.SEV4),
    ],
)
def test_documented_examples(
    spec: Slo,
    risk: RiskTier,
    observed: float | None,
    burn: float | None,
    segmented: bool,
    score: int,
    severity: Severity,
) -> None:
    result = classify(
        slo=spec, risk_tier=risk, observed=observed, burn_rate=burn, segmented=segmented
    )
    assert (result.score, result.severity) == (score, severity)
    assert result.explanation.startswith(severity.value)


@pytest.mark.parametrize(
    ("burn", "tier"),
    [
        (None, -1),
        (0.0, 0),
        (0.99, 0),
        (1.0, 1),
        (5.99, 1),
        (6.0, 2),
        (14.39, 2),
        (14.4, 3),
        (100, 3),
    ],
)
def test_burn_tiers(burn: float | None, tier: int) -> None:
    assert burn_tier(burn) == tier


@pytest.mark.parametrize(
    ("deviation", "tier"),
    [(None, -1), (0.0, 0), (0.0001, 1), (0.0999, 1), (0.1, 2), (0.4999, 2), (0.5, 3), (3.0, 3)],
)
def test_deviation_tiers(deviation: float | None, tier: int) -> None:
    assert deviation_tier(deviation) == tier


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0, Severity.SEV4),
        (2, Severity.SEV4),
        (3, Severity.SEV3),
        (4, Severity.SEV3),
        (5, Severity.SEV2),
        (6, Severity.SEV1),
        (7, Severity.SEV1),
    ],
)
def test_score_to_severity(score: int, severity: Severity) -> None:
    assert severity_for_score(score) is severity


@pytest.mark.parametrize(
    ("observed", "objective", "comparison", "expected"),
    [
        (7.5, 3, "<=", 1.5),  # gap 4.5 points past a 3-point objective
        (2.0, 3, "<=", 0.0),  # within objective
        (0.828, 0.92, ">=", 0.1),
        (0.95, 0.92, ">=", 0.0),
        (None, 0.92, ">=", None),
    ],
)
def test_deviation_direction(
    observed: float | None, objective: float, comparison: str, expected: float | None
) -> None:
    got = deviation_past_objective(observed, slo(objective, comparison))
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_severity_order() -> None:
    assert Severity.SEV1.at_least(Severity.SEV2)
    assert not Severity.SEV3.at_least(Severity.SEV2)
    assert Severity.SEV4.rank == 4
