"""`make demo` (`orchestrator demo`): the worked example end to end on the embedded stack."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.config.settings import Settings
from workers.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
OCCURRENCE = r"incident-support-assistant--{slo}--\d{{8}}-\d{{6}}"


async def test_the_demo_opens_one_occurrence_per_breach_and_resolves_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        state_dir=tmp_path / "state",
        catalog_path=ROOT / "catalog" / "catalog.yaml",
        playbooks_path=ROOT / "playbooks",
        sdk_poll_interval=0.1,
    )
    await run_demo(settings)
    out = capsys.readouterr().out

    for slo in ("language-gap", "task-success"):
        occurrence = OCCURRENCE.format(slo=slo)
        assert re.search(rf"{occurrence}: SEV\d, playbook \S+, monitoring", out), out
        assert re.search(rf"{occurrence}: resolved", out), out
    assert "a user with language=es is served 'human-queue'" in out
    assert "a user with language=en is served 'human-queue'" not in out
    assert re.search(r"audit chain verified: \d+ events", out), out
    assert re.search(r"effect_applied +route-segment-to-humans", out), out
