"""docker-compose.integrations.yml, layered over docker-compose.yml, is a stack that starts with
the team's own systems: the merged file is valid, every variable it sets is one the code reads
(or one the deploy webhook file names for a header secret), every credential is a mounted
secret file, and the api can read the ticket system it closes reviews in."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.config.settings import Settings
from orchestrator.config.variables import VARIABLES
from tests.ingest.operators import tokens_file_text
from tests.test_compose import (
    COMPOSE_PATH,
    REPO_ROOT,
    SECRET_NAME,
    SECRETS_DIR,
    environment,
    is_orchestrator,
    mounts,
    secret_names,
)

OVERRIDE = REPO_ROOT / "docker-compose.integrations.yml"
WEBHOOK_EXAMPLE = REPO_ROOT / "docs" / "examples" / "deploy-webhook-argocd.yaml"


@pytest.fixture(scope="module")
def merged() -> dict[str, Any]:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is not installed (Debian: apt-get install docker-compose)"
    done = subprocess.run(
        [tool, "-f", str(COMPOSE_PATH), "-f", str(OVERRIDE), "config"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = yaml.safe_load(done.stdout)
    assert isinstance(loaded, dict)
    return loaded


def header_secrets() -> set[str]:
    """``NAME`` and ``NAME_FILE`` for each ``${NAME}`` the deploy webhook example uses."""
    names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", WEBHOOK_EXAMPLE.read_text("utf-8")))
    return names | {f"{name}_FILE" for name in names}


def test_every_variable_is_read_by_the_code_or_named_by_the_webhook_file(
    merged: dict[str, Any],
) -> None:
    allowed = set(VARIABLES) | header_secrets()
    unknown = [
        f"{name}: {var}"
        for name, service in merged["services"].items()
        if is_orchestrator(service)
        for var in environment(service)
        if var not in allowed
    ]
    assert not unknown, unknown


def test_every_credential_is_a_mounted_secret_file(merged: dict[str, Any]) -> None:
    problems = []
    for name, service in merged["services"].items():
        if not is_orchestrator(service):
            continue
        for var, value in environment(service).items():
            if SECRET_NAME.search(var) and not var.endswith("_FILE"):
                problems.append(f"{name}: {var} is set inline; use {var}_FILE")
            mounted = value is None or not value.startswith(SECRETS_DIR)
            if not mounted and str(value)[len(SECRETS_DIR) :] not in secret_names(service):
                problems.append(f"{name}: {value} is not mounted")
    assert not problems, problems
    declared = set(merged.get("secrets") or {})
    for name, service in merged["services"].items():
        assert secret_names(service) <= declared, name


def test_the_integrations_are_chosen_and_the_api_reads_the_tickets(
    merged: dict[str, Any],
) -> None:
    worker = environment(merged["services"]["worker"])
    assert worker["ORCHESTRATOR_PAGER"] == "pagerduty"
    assert worker["ORCHESTRATOR_CHAT"] == "slack"
    assert worker["ORCHESTRATOR_DEPLOY"] == "webhook"
    assert worker["ORCHESTRATOR_MODEL_REGISTRY"] == "mlflow"
    api = environment(merged["services"]["api"])
    for var in ("ORCHESTRATOR_TICKETS", "ORCHESTRATOR_GITHUB_REPO"):
        assert api.get(var) == worker.get(var), f"api and worker disagree on {var}"
    # The override adds to the base: the api keeps its ingest and operator tokens.
    assert api["ORCHESTRATOR_TOKENS_FILE"].startswith(SECRETS_DIR)
    assert "operator_tokens" in secret_names(merged["services"]["api"])


def test_the_worker_and_api_settings_load_from_the_merged_environment(
    merged: dict[str, Any], tmp_path: Path
) -> None:
    """What the containers would read: every secret file and the mounted webhook file exist, and
    Settings.from_env accepts the lot (no one-line ConfigError at start)."""
    for name in ("worker", "api"):
        service = merged["services"][name]
        env = {k: v for k, v in environment(service).items() if v is not None}
        files = {
            f"{SECRETS_DIR}{secret}": f"secret-value-of-{secret}"
            for secret in secret_names(service)
        }
        files[f"{SECRETS_DIR}operator_tokens"] = tokens_file_text()
        for target in mounts(service):
            if target.endswith(".yaml"):
                files[target] = WEBHOOK_EXAMPLE.read_text("utf-8")

        def read_file(path: str, files: dict[str, str] = files) -> str:
            return files[path]

        env["ORCHESTRATOR_STATE_DIR"] = str(tmp_path / name)
        settings = Settings.from_env(env, read_file=read_file)
        assert settings.tickets.backend == "github", name
        if name == "worker":
            assert settings.pagerduty is not None and settings.slack is not None
            assert settings.deploy.backend == "webhook" and settings.mlflow is not None
