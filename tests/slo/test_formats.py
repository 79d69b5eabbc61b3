"""The other outputs of ``slo rules``: shrunken windows (for end-to-end tests), Sloth specs and
OpenSLO documents, whose PromQL must parse; and the generated alerts as the ingest reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.errors import ValidationError
from orchestrator.ingest.mapping import AlertFacts, alert_to_signal
from orchestrator.slo.generate import Format
from orchestrator.slo.windows import Windows, duration, parse_scale, seconds
from tests.slo.promtool import (
    PROMTOOL,
    SERVICE,
    alert,
    counter,
    needs_promtool,
    promtool,
    rules_file,
)
from tests.slo.promtool import unit_test as promtool_unit_test


def test_windows_scale_and_render() -> None:
    assert [Windows(Fraction(1, 60)).range(w) for w in ("5m", "1h", "3d")] == ["5s", "1m", "72m"]
    assert duration(Fraction(1, 4)) == "250ms"
    assert seconds("2h") == 7200
    assert parse_scale("1/60") == Fraction(1, 60)
    for bad in ("0", "2", "x", "1/0"):
        with pytest.raises(ValidationError):
            parse_scale(bad)
    with pytest.raises(ValidationError, match="whole number of milliseconds"):
        Windows(Fraction(1, 7)).check()


@needs_promtool
def test_shrunken_windows_page_within_a_minute(tmp_path: Path) -> None:
    # At 1/60, 1h is 1m and 5m is 5s: one minute of hand-offs failing 20 % of the time pages,
    # under the same rule names and labels as in production.
    rules = rules_file(tmp_path, Fraction(1, 60))
    text = rules.read_text()
    assert "[5s]" in text and "[72m]" in text and "[5m]" not in text
    assert "record: slo:sli:ratio_rate5m" in text
    base = f'ai_cx_escalations_total{{service="{SERVICE}"'
    series = [
        {"series": f'{base},outcome="success"}}', "values": counter((30, 99.5), (60, 80))},
        {"series": f'{base},outcome="failure"}}', "values": counter((30, 0.5), (60, 20))},
    ]
    test = {
        "interval": "1s",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": "25s", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []},
            {
                "eval_time": "90s",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": _every_tier(),
            },
        ],
    }
    result = promtool_unit_test(tmp_path, rules, [test], evaluation_interval="1s")
    assert result.returncode == 0, result.stdout + result.stderr


def _every_tier() -> list[dict[str, Any]]:
    """At 90s the 1h window (1m) is all at 80 %; the 6h, 1d and 3d ones (6m, 24m, 72m) hold the
    whole run, 86.5 %: every tier burns, the ``window`` labels still name the nominal windows."""
    whole = (30 * 99.5 + 60 * 80) / 9000
    found = []
    for burn, tier, long, short, pct, observed in (
        ("14.4", "page", "1h", "5m", "80%", "0.8"),
        ("6", "page", "6h", "30m", "86.5%", repr(whole)),
        ("3", "ticket", "1d", "2h", "86.5%", repr(whole)),
        ("1", "ticket", "3d", "6h", "86.5%", repr(whole)),
    ):
        summary = (
            f"{SERVICE} escalation-success: fallback escalation success rate {pct} over {long}"
            f" (objective >= 0.99); budget burning at least {burn}x the sustainable rate over"
            f" {long} and {short}"
        )
        found.append(
            alert("escalation-success", "reliability", tier, burn, long, summary, observed, "0.99")
        )
    return found


def _queries(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("query", "error_query", "total_query")]
        found += [v for k, v in node.items() if k == "error_ratio_query"]
        return found + [q for v in node.values() for q in _queries(v)]
    if isinstance(node, list):
        return [q for v in node for q in _queries(v)]
    return []


def _check_promql(tmp_path: Path, queries: list[str]) -> None:
    rules = [
        {"record": f"check:query:{i}", "expr": q.replace("{{.window}}", "5m")}
        for i, q in enumerate(queries)
    ]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sloth_spec_per_service_and_period(tmp_path: Path) -> None:
    text = rules_file(tmp_path, fmt=Format.SLOTH).read_text()
    docs = list(yaml.safe_load_all(text))
    assert [d["version"] for d in docs] == ["prometheus/v1", "prometheus/v1"]
    by_period = {
        re.search(r"--default-slo-period=(\w+)", chunk).group(1): doc  # type: ignore[union-attr]
        for chunk, doc in zip(text.split("---\n"), docs, strict=True)
    }
    objectives = {s["name"]: s["objective"] for d in docs for s in d["slos"]}
    assert objectives == {
        "task-success": 92.0,
        "language-gap": 97.0,
        "escalation-success": 99.0,
        "ttft-p95": 95.0,
        "final-answer-p95": 95.0,
    }
    assert {s["name"] for s in by_period["7d"]["slos"]} == {"ttft-p95", "final-answer-p95"}
    assert "# NOTE: support-assistant/language-gap: Sloth has no fairness SLI" in text
    escalation = next(s for s in by_period["30d"]["slos"] if s["name"] == "escalation-success")
    assert set(escalation["sli"]["events"]) == {"error_query", "total_query"}
    assert escalation["alerting"]["page_alert"]["labels"]["tier"] == "page"
    if PROMTOOL is not None:  # the PromQL parses (the shape above is checked without it)
        _check_promql(tmp_path, _queries(docs))


def test_openslo_documents(tmp_path: Path) -> None:
    text = rules_file(tmp_path, fmt=Format.OPENSLO).read_text()
    docs = list(yaml.safe_load_all(text))
    assert {d["apiVersion"] for d in docs} == {"openslo/v1"}
    assert [d["kind"] for d in docs] == ["Service", "SLO", "SLO", "SLO", "SLO", "SLO"]
    slos = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "SLO"}
    ttft = slos["support-assistant-ttft-p95"]
    assert ttft["timeWindow"] == [{"duration": "7d", "isRolling": True}]
    assert ttft["objectives"][0]["target"] == 0.95
    good = ttft["indicator"]["spec"]["ratioMetric"]["good"]["metricSource"]["spec"]["query"]
    assert 'ai_cx_time_to_first_token_seconds_bucket{service="support-assistant",le="0.8"}' in good
    gap = slos["support-assistant-language-gap"]
    assert gap["indicator"]["spec"]["ratioMetric"]["rawType"] == "failure"
    assert gap["objectives"][0]["target"] == 0.97
    assert "# NOTE: support-assistant/language-gap: OpenSLO has no fairness SLI" in text
    if PROMTOOL is not None:  # the PromQL parses (the shape above is checked without it)
        _check_promql(tmp_path, _queries(docs))


def test_a_generated_alert_becomes_the_breach_signal_the_playbooks_expect() -> None:
    # The Spanish fairness ticket as promtool rendered it (tests/slo/test_promtool_segments.py).
    rendered = alert(
        "language-gap",
        "fairness",
        "ticket",
        "1",
        "3d",
        "es is behind",
        "3.2",
        "3",
        language="es",
    )
    facts = AlertFacts(
        index=0,
        status="firing",
        labels={"alertname": "SLOFairnessGap", **rendered["exp_labels"]},
        annotations=rendered["exp_annotations"],
        fingerprint="f",
        starts_at=datetime(2026, 12, 5, tzinfo=UTC),
    )
    signal = alert_to_signal(
        facts, source="alertmanager", mapping=LabelMapping(), received_at=facts.starts_at
    )
    assert (signal.service, signal.slo, signal.dimension) == (SERVICE, "language-gap", "fairness")
    assert str(signal.segment) == "language=es"
    assert (signal.observed, signal.objective, signal.burn_rate, signal.window) == (
        3.2,
        3.0,
        1.0,
        "3d",
    )


async def test_cli_writes_the_rules_and_says_what_it_left_out(tmp_path: Path) -> None:
    from tests.cli.helpers import cli

    out = tmp_path / "deploy" / "slo-rules.yaml"
    result = await cli("slo", "rules", "--service", "support-assistant", "--out", str(out))
    assert result.code == 0, result.err
    assert result.out == ""
    assert f"wrote 69 rules to {out}" in result.err
    assert "note: support-assistant/task-success: no 14.4x page alert" in result.err
    groups = yaml.safe_load(out.read_text())["groups"]
    assert len(groups) == 5
    printed = await cli("slo", "rules", "--format", "openslo")
    assert printed.code == 0, printed.err
    assert "kind: SLO" in printed.out and "apiVersion: openslo/v1" in printed.out


def test_a_catalog_without_slis_is_an_error_not_an_empty_file() -> None:
    from orchestrator.config.files import load_catalog
    from orchestrator.errors import CatalogError
    from orchestrator.slo.generate import generate
    from tests.slo.promtool import CATALOG

    catalog = load_catalog(CATALOG)
    service = catalog.services[0]
    bare = service.model_copy(
        update={"slos": tuple(s.model_copy(update={"sli": None}) for s in service.slos)}
    )
    empty = catalog.model_copy(update={"services": (bare,)})
    with pytest.raises(CatalogError, match="no SLO of service 'support-assistant' has an sli"):
        generate(empty, service=SERVICE, fmt=Format.PROMETHEUS, windows=Windows(), source="c")


def test_openslo_names_stay_dns_labels() -> None:
    from orchestrator.slo.openslo import dns_label

    assert dns_label("support-assistant-task-success") == "support-assistant-task-success"
    long = dns_label("a" * 62 + "-bcd")
    assert long == "a" * 62 and len(long) <= 63
