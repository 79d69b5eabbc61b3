"""The deployment provider is chosen by configuration alone (ORCHESTRATOR_DEPLOY), and the deploy
webhook's file is validated when the settings are read: one line naming the variable and the
field, and never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError

TOKEN = "S3cr3tDeployT0kenValue0123456789"
GOOD = {
    "headers": {"Authorization": "Bearer ${DEPLOY_TOKEN}"},
    "operations": {
        "state": {
            "method": "GET",
            "url": "https://cd.example/apps/{{ service }}-{{ component }}",
            "response": {"version": "status.sync.revision"},
        },
        "pin": {
            "url": "https://cd.example/apps/{{ service }}/sync",
            "body": {"r": "{{ version }}"},
        },
    },
}


def settings_for(tmp_path: Path, document: object, **env: str) -> Settings:
    path = tmp_path / "deploy.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return Settings.from_env(
        {"ORCHESTRATOR_DEPLOY": "webhook", "ORCHESTRATOR_DEPLOY_WEBHOOK_FILE": str(path), **env}
    )


def test_local_is_the_default() -> None:
    assert Settings.from_env({}).deploy.backend == "local"


def test_the_webhook_with_its_secret_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(f"{TOKEN}\n")
    settings = settings_for(tmp_path, GOOD, DEPLOY_TOKEN_FILE=str(tmp_path / "token"))
    hook = settings.deploy.webhook
    assert hook is not None and hook.secrets["DEPLOY_TOKEN"].reveal() == TOKEN
    assert TOKEN not in repr(settings)


def _with(path: str, value: object) -> dict[str, object]:
    """GOOD with the dotted ``path`` set to ``value`` (None: removed)."""
    document = yaml.safe_load(yaml.safe_dump(GOOD))
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return document  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (_with("operations.pin.url", "https://x/{{ secret }}"), "operations.pin: url uses secret"),
        (_with("operations.state", None), "operations.state is required"),
        (_with("operations.pin.response", {"version": "a"}), "only the state answer is read"),
        (
            _with("operations.state.response", {"version": "a..b"}),
            "operations.state.response: 'a..b' is not a path",
        ),
        (_with("operations.state.response", {"colour": "a"}), "unknown answer field 'colour'"),
        (_with("operations.state.response", {}), "must map version"),
        (_with("operations.pin.url", "https://x/${DEPLOY_TOKEN}"), "secrets go in headers only"),
        (_with("operations.pin.method", "FETCH"), "operations.pin.method"),
        (_with("operations.pin.body", {"r": "{{ version "}), "syntax error"),
        (_with("operations.freeze", {"url": "https://x"}), "freeze and operations.unfreeze"),
        (_with("headers", {"X-Token": "{{ version }}"}), "no templates in headers"),
        (_with("extra", 1), "extra: Extra inputs are not permitted"),
        ("operations: [", "not YAML"),
    ],
)
def test_a_bad_file_is_refused_in_one_line_naming_the_field(
    tmp_path: Path, document: object, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(tmp_path, document, DEPLOY_TOKEN=TOKEN)
    message = str(caught.value)
    assert message.startswith("ORCHESTRATOR_DEPLOY_WEBHOOK_FILE: ")
    assert words in message and "\n" not in message and TOKEN not in message


def test_a_missing_header_secret_or_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"the headers use \$\{DEPLOY_TOKEN\}; set DEPLOY_TOKEN"):
        settings_for(tmp_path, GOOD)
    with pytest.raises(ConfigError, match="needs ORCHESTRATOR_DEPLOY_WEBHOOK_FILE"):
        Settings.from_env({"ORCHESTRATOR_DEPLOY": "webhook"})
    with pytest.raises(ConfigError, match="ORCHESTRATOR_DEPLOY must be one of local, webhook"):
        Settings.from_env({"ORCHESTRATOR_DEPLOY": "spinnaker"})
