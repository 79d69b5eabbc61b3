"""MLflow as the model registry is chosen by configuration alone (ORCHESTRATOR_MODEL_REGISTRY):
which components it serves, under which alias, with which credential; every refusal is one line
naming the variable, and no credential is ever shown."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from orchestrator.config.settings import Settings
from orchestrator.domain.model_registry import MlflowModel
from orchestrator.errors import ConfigError
from workers.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cr3t-mlflow-password-0123456789"
BASE = {
    "ORCHESTRATOR_MODEL_REGISTRY": "mlflow",
    "ORCHESTRATOR_MLFLOW_TRACKING_URI": "https://mlflow.example/",
    "ORCHESTRATOR_MLFLOW_MODELS": "support-assistant/prompt=cx-answer-prompt, model=cx-model@prod",
}


def test_the_default_is_no_model_registry() -> None:
    assert Settings.from_env({}).mlflow is None


def test_mlflow_with_a_user_and_a_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "mlflow.password"
    secret.write_text(f"{PASSWORD}\n")
    env = {
        **BASE,
        "ORCHESTRATOR_MLFLOW_USERNAME": "orchestrator",
        "ORCHESTRATOR_MLFLOW_PASSWORD_FILE": str(secret),
    }
    chosen = Settings.from_env(env).mlflow
    assert chosen is not None
    assert chosen.tracking_uri == "https://mlflow.example"
    assert chosen.models == (
        MlflowModel("support-assistant/prompt", "cx-answer-prompt", "champion"),
        MlflowModel("model", "cx-model", "prod"),
    )
    assert chosen.model_for("support-assistant", "prompt") == chosen.models[0]
    assert chosen.model_for("other-service", "model") == chosen.models[1]
    assert chosen.model_for("other-service", "prompt") is None
    assert chosen.password is not None and chosen.password.reveal() == PASSWORD
    assert PASSWORD not in repr(chosen) and chosen.token is None


def test_the_default_alias_is_configurable() -> None:
    chosen = Settings.from_env({**BASE, "ORCHESTRATOR_MLFLOW_ALIAS": "serving"}).mlflow
    assert chosen is not None and [m.alias for m in chosen.models] == ["serving", "prod"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ORCHESTRATOR_MLFLOW_TRACKING_URI": ""}, "needs ORCHESTRATOR_MLFLOW_TRACKING_URI"),
        ({"ORCHESTRATOR_MLFLOW_MODELS": ""}, "needs ORCHESTRATOR_MLFLOW_MODELS"),
        ({"ORCHESTRATOR_MLFLOW_TRACKING_URI": "mlflow:5000"}, "must be an http(s) URL"),
        ({"ORCHESTRATOR_MLFLOW_MODELS": "prompt"}, "is not COMPONENT=MODEL[@ALIAS]"),
        ({"ORCHESTRATOR_MLFLOW_MODELS": "prompt=it's"}, "is not COMPONENT=MODEL[@ALIAS]"),
        ({"ORCHESTRATOR_MLFLOW_MODELS": "prompt=a,prompt=b"}, "names 'prompt' twice"),
        ({"ORCHESTRATOR_MLFLOW_MODELS": "prompt=a@latest"}, "alias 'latest' is not one"),
        ({"ORCHESTRATOR_MLFLOW_ALIAS": "v2"}, "alias 'v2' is not one MLflow accepts"),
        ({"ORCHESTRATOR_MLFLOW_USERNAME": "orchestrator"}, "go together"),
        ({"ORCHESTRATOR_MLFLOW_PASSWORD": PASSWORD}, "go together"),
        (
            {
                "ORCHESTRATOR_MLFLOW_TOKEN": PASSWORD,
                "ORCHESTRATOR_MLFLOW_USERNAME": "u",
                "ORCHESTRATOR_MLFLOW_PASSWORD": PASSWORD,
            },
            "not both",
        ),
        ({"ORCHESTRATOR_MODEL_REGISTRY": "sagemaker"}, "must be one of none, mlflow"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(changes: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, **changes})
    text = str(caught.value)
    assert message in text and "\n" not in text and PASSWORD not in text


async def test_a_component_the_catalog_does_not_have_stops_the_worker(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "ORCHESTRATOR_MLFLOW_MODELS": "support-assistant/promtp=cx-answer-prompt",
            "ORCHESTRATOR_STATE_DIR": str(tmp_path),
            "ORCHESTRATOR_CATALOG": str(ROOT / "catalog" / "catalog.yaml"),
            "ORCHESTRATOR_PLAYBOOKS": str(ROOT / "playbooks"),
            "ORCHESTRATOR_TASK_QUEUE": f"t-{uuid.uuid4().hex[:8]}",
        }
    )
    with pytest.raises(ConfigError, match="names support-assistant/promtp, which the catalog"):
        async with build_runtime(settings):
            pass
