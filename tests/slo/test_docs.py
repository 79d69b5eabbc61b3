"""docs/slo.md's Alertmanager configuration is one Alertmanager accepts, and routes the
generated alerts to the orchestrator's webhook with its bearer token."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from orchestrator.slo.prometheus import BURN_ALERT, GAP_ALERT

ROOT = Path(__file__).resolve().parents[2]
AMTOOL = shutil.which("amtool")


def alertmanager_config() -> str:
    text = (ROOT / "docs" / "slo.md").read_text(encoding="utf-8")
    found = re.search(r"```yaml\n(# alertmanager\.yml\n.*?)```", text, re.S)
    assert found, "docs/slo.md has no alertmanager.yml block"
    return found.group(1)


def test_the_receiver_posts_generated_alerts_to_the_webhook_with_a_token() -> None:
    config = yaml.safe_load(alertmanager_config())
    route = config["route"]["routes"][0]
    assert route["receiver"] == "orchestrator" and route["continue"] is True
    assert re.fullmatch(route["matchers"][0].split("=~")[1].strip('"'), BURN_ALERT)
    assert re.fullmatch(route["matchers"][0].split("=~")[1].strip('"'), GAP_ALERT)
    receiver = next(r for r in config["receivers"] if r["name"] == "orchestrator")
    hook = receiver["webhook_configs"][0]
    assert hook["url"].endswith("/v1/signals/alertmanager")
    assert hook["http_config"]["authorization"]["type"] == "Bearer"
    assert hook["send_resolved"] is True


@pytest.mark.skipif(
    AMTOOL is None, reason="amtool not found: apt-get install prometheus-alertmanager"
)
def test_amtool_accepts_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager_config(), encoding="utf-8")
    assert AMTOOL is not None
    result = subprocess.run(
        [AMTOOL, "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 receivers" in result.stdout and "1 inhibit rules" in result.stdout
