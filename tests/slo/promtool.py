"""Running Debian's ``promtool`` on generated rules: ``check rules`` and ``test rules`` unit tests.

Input series are counters written in promtool's expanding notation from (minutes, events per
minute) stretches, sampled every minute from t=0.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.files import load_catalog
from orchestrator.slo.generate import Format, generate
from orchestrator.slo.windows import Windows

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "catalog" / "catalog.yaml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not found: apt-get install prometheus (.ci/run installs it)",
)
SERVICE = "support-assistant"
Stretch = tuple[int, float]
"""(minutes, events per minute)."""


def rules_file(
    folder: Path, scale: Fraction = Fraction(1), fmt: Format = Format.PROMETHEUS
) -> Path:
    generated = generate(
        load_catalog(CATALOG), service=None, fmt=fmt, windows=Windows(scale), source="catalog"
    )
    path = folder / f"rules-{fmt.value}.yaml"
    path.write_text(generated.text, encoding="utf-8")
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, timeout=300, check=False
    )


def _num(value: float) -> str:
    return format(value, ".12g")


def counter(*stretches: Stretch) -> str:
    """A counter from 0 growing by ``rate`` a minute for ``minutes``, stretch after stretch."""
    parts, value = ["0"], 0.0
    for minutes, rate in stretches:
        parts.append(f"{_num(value + rate)}+{_num(rate)}x{minutes - 1}")
        value += rate * minutes
    return " ".join(parts)


def judgements(language: str, total: list[Stretch], good: list[Stretch]) -> list[dict[str, str]]:
    """Task judgements for one language: the success counter and the failure counter."""
    bad = [(m, t - g) for (m, t), (_, g) in zip(total, good, strict=True)]
    base = f'ai_cx_task_judgements_total{{service="{SERVICE}",language="{language}"'
    return [
        {"series": f'{base},outcome="success"}}', "values": counter(*good)},
        {"series": f'{base},outcome="failure"}}', "values": counter(*bad)},
    ]


def alert(
    slo: str,
    dimension: str,
    tier: str,
    burn: str,
    window: str,
    summary: str,
    observed: str,
    objective: str,
    **segment: str,
) -> dict[str, Any]:
    """An expected alert: the labels the rules promise and the annotations with their numbers."""
    labels = {
        "service": SERVICE,
        "slo": slo,
        "dimension": dimension,
        "tier": tier,
        "severity": "critical" if tier == "page" else "warning",
        "burn_rate": burn,
        "window": window,
        **segment,
    }
    annotations = {
        "observed": observed,
        "objective": objective,
        "summary": summary,
        "runbook_url": f"https://runbooks.example.com/{SERVICE}/{slo}",
    }
    if segment:
        annotations["segment"] = ",".join(f"{k}={v}" for k, v in segment.items())
    return {"exp_labels": labels, "exp_annotations": annotations}


def unit_test(
    folder: Path,
    rules: Path,
    tests: list[dict[str, Any]],
    evaluation_interval: str = "5m",
) -> subprocess.CompletedProcess[str]:
    """``promtool test rules`` on a test file holding ``tests``."""
    spec = {
        "rule_files": [str(rules)],
        "evaluation_interval": evaluation_interval,
        "tests": tests,
    }
    path = folder / "unit-tests.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return promtool("test", "rules", str(path))
