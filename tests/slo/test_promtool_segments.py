"""Latency and fairness rules in real Prometheus (promtool), with the worked example's incident:
a prompt rollout drops Spanish task success from 0.93 to 0.85 while English stays at 0.94.

Observed values are pinned as Prometheus computes them; each is checked against the hand
arithmetic it comes from, so a pinned string cannot drift from what the scenario means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.slo.promtool import (
    SERVICE,
    Stretch,
    alert,
    counter,
    judgements,
    needs_promtool,
    rules_file,
    unit_test,
)
from tests.slo.test_promtool_rules import BURN, TIERS, check

pytestmark = needs_promtool

BUCKETS = ("0.4", "0.8", "1.6", "3.2", "+Inf")
HEALTHY = (60, 97, 100, 100, 100)
"""Answers per minute within each bucket (cumulative): 97 % start within 800 ms."""
DEGRADED = (10, 20, 90, 100, 100)
SLOW_TAIL = (50, 90, 100, 100, 100)
"""10 % of answers start after 800 ms: twice the 5 % budget."""


def pinned(text: str, exact: float) -> str:
    assert abs(float(text) - exact) < 1e-9 * max(1.0, abs(exact)), (text, exact)
    return text


def first_token(*stretches: tuple[int, tuple[int, ...]]) -> list[dict[str, str]]:
    name = "ai_cx_time_to_first_token_seconds"
    series = []
    for i, le in enumerate(BUCKETS):
        rates: list[Stretch] = [(m, counts[i]) for m, counts in stretches]
        selector = f'{name}_bucket{{service="{SERVICE}",le="{le}"}}'
        series.append({"series": selector, "values": counter(*rates)})
    count = [(m, counts[-1]) for m, counts in stretches]
    series.append({"series": f'{name}_count{{service="{SERVICE}"}}', "values": counter(*count)})
    return series


def ttft_alert(burn: str, ms: str, observed: str) -> dict[str, Any]:
    tier, long, short = TIERS[burn]
    summary = (
        f"{SERVICE} ttft-p95: p95 time to first token {ms} ms over {long} (objective <= 800 ms);"
        f" {BURN.format(f=burn, long=long, short=short)}"
    )
    return alert("ttft-p95", "latency", tier, burn, long, summary, observed, "800")


def test_latency_page_reports_the_p95_in_milliseconds(tmp_path: Path) -> None:
    # 50 healthy minutes, then 70 where 80 % of first tokens take longer than 800 ms.
    whole = 1600 + (11400 - 11300) / (12000 - 11300) * 1600  # p95 of all 120 minutes
    test = {
        "interval": "1m",
        "input_series": first_token((50, HEALTHY), (70, DEGRADED)),
        "alert_rule_test": [
            {
                "eval_time": "2h",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [
                    ttft_alert("14.4", "2400", pinned("2399.999999999999", 1600 + 0.5 * 1600)),
                    ttft_alert("6", "1829", pinned("1828.5714285714294", whole)),
                    ttft_alert("3", "1829", pinned("1828.5714285714294", whole)),
                    ttft_alert("1", "1829", pinned("1828.5714285714291", whole)),
                ],
            }
        ],
    }
    check(unit_test(tmp_path, rules_file(tmp_path), [test]))


def test_latency_slow_tail_is_a_ticket_not_a_page(tmp_path: Path) -> None:
    test = {
        "interval": "1m",
        "input_series": first_token((360, SLOW_TAIL)),
        "alert_rule_test": [
            {
                "eval_time": "6h",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [
                    ttft_alert("1", "1200", pinned("1200.0000000000002", 800 + 0.5 * 800))
                ],
            }
        ],
    }
    check(unit_test(tmp_path, rules_file(tmp_path), [test]))


def gap_alert(language: str, long_gap: str, observed: str) -> dict[str, Any]:
    summary = (
        f"{SERVICE} language-gap: language={language} is {long_gap} points behind the"
        " best-served language over 3d (objective <= 3 points); above 3 points over 3d and 6h"
    )
    return alert(
        "language-gap", "fairness", "ticket", "1", "3d", summary, observed, "3", language=language
    )


def test_spanish_gap_opens_a_fairness_ticket_and_a_task_success_ticket(tmp_path: Path) -> None:
    # Three days of judgements, 100 a minute per language. Spanish drops 0.93 -> 0.85 for the
    # last 20 hours; English stays at 0.94; German has 0.02 a minute (fewer than min_sample in
    # any window) and every one of them fails: it must not alert, however bad it looks.
    spanish = (3120 * 93 + 1200 * 85) / 432000
    series = [
        *judgements("en", [(4320, 100)], [(4320, 94)]),
        *judgements("es", [(3120, 100), (1200, 100)], [(3120, 93), (1200, 85)]),
        *judgements("de", [(4320, 0.02)], [(4320, 0)]),
    ]
    accuracy = (
        f"{SERVICE} task-success: human-judged task success rate 90.78% for language=es over 3d"
        f" (objective >= 0.92); {BURN.format(f='1', long='3d', short='6h')}"
    )
    test = {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            # Before the rollout: a 1-point gap and 93 % success, nothing fires.
            {"eval_time": "2d", "alertname": "SLOFairnessGap", "exp_alerts": []},
            {"eval_time": "2d", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []},
            # 3 days in: a 3.2-point gap over 3d and 9 over 6h: the 1x ticket only (the 1d gap,
            # 7.7 points, is under the 3x tier's 9).
            {
                "eval_time": "3d",
                "alertname": "SLOFairnessGap",
                "exp_alerts": [
                    gap_alert("es", "3.2", pinned("3.222222222222215", 100 * (0.94 - spanish)))
                ],
            },
            {
                "eval_time": "3d",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [
                    alert(
                        "task-success",
                        "accuracy",
                        "ticket",
                        "1",
                        "3d",
                        accuracy,
                        pinned("0.9077777777777778", spanish),
                        "0.92",
                        language="es",
                    )
                ],
            },
        ],
    }
    check(unit_test(tmp_path, rules_file(tmp_path), [test]))


def _best_served_by_a_small_group(german_per_minute: float) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": [
            *judgements("en", [(1440, 100)], [(1440, 94)]),
            *judgements("es", [(1440, 100)], [(1440, 93)]),
            *judgements("de", [(1440, german_per_minute)], [(1440, german_per_minute)]),
        ],
    }


def test_an_undersampled_segment_is_never_the_best_served(tmp_path: Path) -> None:
    # German answers all succeed, but 0.02 a minute is under min_sample (200) in every window:
    # English (94 %) stays the reference and a 1-point Spanish gap raises nothing.
    quiet = _best_served_by_a_small_group(0.02)
    quiet["alert_rule_test"] = [
        {"eval_time": "1d", "alertname": "SLOFairnessGap", "exp_alerts": []}
    ]
    # At 2 a minute German has 720 events in 6h and 2880 in 1d: it is the reference there, and
    # English (6 points behind) and Spanish (7) get the 1x ticket.
    busy = _best_served_by_a_small_group(2)
    busy["alert_rule_test"] = [
        {
            "eval_time": "1d",
            "alertname": "SLOFairnessGap",
            "exp_alerts": [
                gap_alert("en", "6.0", pinned("5.999999999999995", 6)),
                gap_alert("es", "7.0", pinned("6.999999999999995", 7)),
            ],
        }
    ]
    check(unit_test(tmp_path, rules_file(tmp_path), [quiet, busy]))
