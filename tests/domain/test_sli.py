"""SLIs in the catalog: the worked example's five load; a wrong one is refused with its location."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.domain.catalog import parse_catalog
from orchestrator.domain.sli import FairnessSli, LatencySli, RatioSli, matchers, metric_name
from orchestrator.errors import CatalogError

ROOT = Path(__file__).resolve().parents[2]
CATALOG = (ROOT / "catalog" / "catalog.yaml").read_text()


def test_every_worked_example_slo_has_its_sli() -> None:
    service = parse_catalog(CATALOG, "catalog.yaml").service("support-assistant")
    kinds = {s.name: type(s.sli) for s in service.slos}
    assert kinds == {
        "task-success": RatioSli,
        "ttft-p95": LatencySli,
        "final-answer-p95": LatencySli,
        "language-gap": FairnessSli,
        "escalation-success": RatioSli,
    }
    gap = service.slo("language-gap").sli
    assert isinstance(gap, FairnessSli)
    assert gap.segment_by == ("language",)
    assert gap.min_sample == 200
    ttft = service.slo("ttft-p95").sli
    assert isinstance(ttft, LatencySli)
    assert (ttft.threshold_le, ttft.percentile, ttft.unit_scale) == ("0.8", 0.95, 1000)


def test_selector_parts() -> None:
    assert metric_name('m_total{a="b",c=~"d|e"}') == "m_total"
    assert matchers('m_total{a="b",c=~"d|e"}') == 'a="b",c=~"d|e"'
    assert matchers("m_total") == ""


SLO0 = "services[0].slos[0]"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kind: ratio\n", "kind: ratios\n", f"{SLO0}.sli: Input tag 'ratios'"),
        (
            'good: ai_cx_task_judgements_total{service="support-assistant",outcome="success"}\n'
            "          total",
            "good: sum(rate(x[5m]))\n          total",
            f"{SLO0}.sli.ratio.good: String should match pattern",
        ),
        ("min_sample: 100", "min_sample: -1", f"{SLO0}.sli.ratio.min_sample"),
        ("segment_by: [language]\n          min_sample: 100", "segment_by: [le]", "may not use"),
        ('threshold_le: "0.8"', 'threshold_le: "0.7"', "= 700 ms, but the objective is 800 ms"),
        ("percentile: 0.95\n          unit_scale: 1000\n", "percentile: 95\n", "percentile"),
        (
            "segment_by: [language]\n          min_sample: 200",
            "segment_by: []\n          min_sample: 200",
            "a fairness SLI needs segment_by",
        ),
        (
            "window: 30d\n        journey: account",
            "window: a month\n        journey: account",
            "not a Prometheus duration",
        ),
        (
            'histogram: ai_cx_time_to_first_token_seconds{service="support-assistant"}',
            'histogram: ai_cx_time_to_first_token_seconds{le="0.8"}',
            "must not match on 'le'",
        ),
        ("runbook_url: https://runbooks", "runbook_url: ftp://runbooks", "runbook_url"),
    ],
)
def test_a_wrong_sli_is_refused_where_it_is(old: str, new: str, message: str) -> None:
    assert old in CATALOG, old
    with pytest.raises(CatalogError) as err:
        parse_catalog(CATALOG.replace(old, new, 1), "catalog.yaml")
    assert message in str(err.value)
    assert "catalog.yaml: services[0].slos[" in str(err.value)


def test_sli_kind_must_fit_the_objective() -> None:
    fairness_as_ratio = CATALOG.replace("kind: fairness", "kind: ratio")
    with pytest.raises(CatalogError, match="ratio SLI needs comparison '>='"):
        parse_catalog(fairness_as_ratio, "catalog.yaml")
    gap_unit = CATALOG.replace("unit: points", "unit: percent")
    with pytest.raises(CatalogError, match="fairness SLI needs comparison '<=', unit 'points'"):
        parse_catalog(gap_unit, "catalog.yaml")


def test_an_slo_without_sli_still_loads() -> None:
    start = CATALOG.index("        runbook_url: https://runbooks.example.com/support-assistant/esc")
    stripped = CATALOG[:start]
    service = parse_catalog(stripped, "catalog.yaml").service("support-assistant")
    assert service.slo("escalation-success").sli is None
