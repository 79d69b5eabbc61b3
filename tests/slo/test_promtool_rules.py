"""The generated rules in real Prometheus (promtool): they load, and alerts fire at the tier the
burn reaches, not below it, carrying the labels and numbers the orchestrator reads.

Skipped only when promtool cannot be found (``apt-get install prometheus``; .ci/run does it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.slo.promtool import (
    SERVICE,
    alert,
    counter,
    needs_promtool,
    promtool,
    rules_file,
    unit_test,
)

pytestmark = needs_promtool

BURN = "budget burning at least {f}x the sustainable rate over {long} and {short}"
ESCALATION = (
    f"{SERVICE} escalation-success: fallback escalation success rate {{pct}} over {{long}}"
    f" (objective >= 0.99); {BURN}"
)
TIERS = {"14.4": ("page", "1h", "5m"), "6": ("page", "6h", "30m"), "3": ("ticket", "1d", "2h")}
TIERS["1"] = ("ticket", "3d", "6h")


def escalation_alert(burn: str, pct: str, observed: str) -> dict[str, Any]:
    tier, long, short = TIERS[burn]
    summary = ESCALATION.format(pct=pct, long=long, f=burn, short=short)
    return alert("escalation-success", "reliability", tier, burn, long, summary, observed, "0.99")


def escalations(*stretches: tuple[int, float]) -> list[dict[str, str]]:
    """Hand-offs: 100 a minute, ``good`` of them successful, stretch after stretch."""
    base = f'ai_cx_escalations_total{{service="{SERVICE}"'
    good = [(m, g) for m, g in stretches]
    bad = [(m, 100 - g) for m, g in stretches]
    return [
        {"series": f'{base},outcome="success"}}', "values": counter(*good)},
        {"series": f'{base},outcome="failure"}}', "values": counter(*bad)},
    ]


def check(result: Any) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_every_generated_rule(tmp_path: Path) -> None:
    result = promtool("check", "rules", str(rules_file(tmp_path)))
    check(result)
    found = re.search(r"SUCCESS: (\d+) rules found", result.stdout)
    assert found, result.stdout
    # 5 SLOs x 7 windows recorded, fairness twice (ratio + gap), latency adds 4 percentiles each;
    # 4 tiers each, except task-success's 14.4x (8 % budget: no ratio burns that fast).
    assert int(found.group(1)) == 5 * 7 + 7 + 2 * 4 + 5 * 4 - 1


def test_ratio_fast_burn_fires_every_tier_it_reaches(tmp_path: Path) -> None:
    # 99.5 % for 50 minutes, then 81 % for 70: the last hour is all at 81 %.
    series = escalations((50, 99.5), (70, 81))
    whole = (50 * 99.5 + 70 * 81) / 12000
    # Prometheus' rate over 3d extrapolates differently: the same ratio to the last bit but one.
    three_days = "0.8870833333333334"
    assert abs(float(three_days) - whole) < 1e-15
    test = {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {
                "eval_time": "2h",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [
                    escalation_alert("14.4", "81%", "0.81"),
                    escalation_alert("6", "88.71%", repr(whole)),
                    escalation_alert("3", "88.71%", repr(whole)),
                    escalation_alert("1", "88.71%", three_days),
                ],
            },
            # 50 minutes in, nothing has burned yet.
            {"eval_time": "50m", "alertname": "SLOErrorBudgetBurn", "exp_alerts": []},
        ],
    }
    check(unit_test(tmp_path, rules_file(tmp_path), [test]))


def test_ratio_slow_burn_opens_tickets_but_pages_nobody(tmp_path: Path) -> None:
    # 96 %: 4x the 1 % budget. Above 3x and 1x (tickets), below 6x and 14.4x (pages).
    test = {
        "interval": "1m",
        "input_series": escalations((1440, 96)),
        "alert_rule_test": [
            {
                "eval_time": "1d",
                "alertname": "SLOErrorBudgetBurn",
                "exp_alerts": [
                    escalation_alert("3", "96%", "0.96"),
                    escalation_alert("1", "96%", "0.96"),
                ],
            }
        ],
    }
    check(unit_test(tmp_path, rules_file(tmp_path), [test]))
