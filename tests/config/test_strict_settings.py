"""One strict parser for every setting: each bad value is a one-line error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config.env import Env
from orchestrator.config.settings import Settings
from orchestrator.config.variables import VARIABLES
from orchestrator.errors import ConfigError

ON = ["1", "true", "TRUE", " True ", "yes", "YES", "on", "On", "  on\t"]
OFF = ["0", "false", "FALSE", "no", "No", "off", " OFF "]


@pytest.mark.parametrize("raw", ON)
def test_kill_switch_on_in_every_accepted_spelling(raw: str) -> None:
    assert Settings.from_env({"ORCHESTRATOR_KILL_SWITCH": raw}).kill_switch is True


@pytest.mark.parametrize("raw", OFF)
def test_kill_switch_off_in_every_accepted_spelling(raw: str) -> None:
    assert Settings.from_env({"ORCHESTRATOR_KILL_SWITCH": raw}).kill_switch is False


def test_kill_switch_unset_or_blank_is_off() -> None:
    assert Settings.from_env({}).kill_switch is False
    assert Settings.from_env({"ORCHESTRATOR_KILL_SWITCH": "  "}).kill_switch is False


@pytest.mark.parametrize("raw", ["onn", "enabled", "2", "y", "t", "true!", "-1"])
def test_kill_switch_typo_is_an_error_not_silently_off(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ORCHESTRATOR_KILL_SWITCH": raw})
    message = str(caught.value)
    assert "ORCHESTRATOR_KILL_SWITCH" in message
    assert "true/false, 1/0, yes/no, on/off" in message
    assert "\n" not in message


BAD = [
    ("ORCHESTRATOR_API_PORT", "8080.0", "must be an integer"),
    ("ORCHESTRATOR_API_PORT", "80 80", "must be an integer"),
    ("ORCHESTRATOR_API_PORT", "1e3", "must be an integer"),
    ("ORCHESTRATOR_API_PORT", "70000", "at most 65535"),
    ("ORCHESTRATOR_TEMPORAL_UI_PORT", "0", "at least 1"),
    ("ORCHESTRATOR_SDK_POLL_INTERVAL", "0.2", "duration with a unit"),
    ("ORCHESTRATOR_SDK_POLL_INTERVAL", "5 minutes", "duration with a unit"),
    ("ORCHESTRATOR_SDK_POLL_INTERVAL", "0s", "longer than zero"),
    ("ORCHESTRATOR_FLAG_BACKEND", "ld", "one of local, launchdarkly"),
    ("ORCHESTRATOR_TEMPORAL_TLS", "maybe", "true/false"),
    ("ORCHESTRATOR_INGEST_MAX_DEPTH", "deep", "must be an integer"),
    ("ORCHESTRATOR_INGEST_RETRY_AFTER_SECONDS", "30s", "must be an integer"),
    ("ORCHESTRATOR_TEMPORAL_API_KEY_FILE", "/nonexistent/key", "cannot read"),
]


@pytest.mark.parametrize(("name", "raw", "words"), BAD)
def test_each_bad_value_is_one_line_naming_the_variable(name: str, raw: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        Settings.from_env({name: raw})
    message = str(caught.value)
    assert message.startswith(name)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("200ms", 0.2), ("15s", 15.0), ("5m", 300.0), ("1h", 3600.0), (" 2S ", 2.0)],
)
def test_durations_carry_a_unit(raw: str, seconds: float) -> None:
    assert Settings.from_env({"ORCHESTRATOR_SDK_POLL_INTERVAL": raw}).sdk_poll_interval == seconds


def test_integers_and_defaults() -> None:
    settings = Settings.from_env({"ORCHESTRATOR_API_PORT": " 9090 "})
    assert settings.api_port == 9090
    defaults = Settings.from_env({})
    assert (defaults.api_port, defaults.temporal_ui_port) == (8080, 8233)
    assert defaults.temporal_tls is None and defaults.temporal_api_key is None


def test_temporal_tls_and_api_key(tmp_path: Path) -> None:
    key = tmp_path / "api-key"
    key.write_text("tcld-secret-key\n")
    settings = Settings.from_env(
        {
            "ORCHESTRATOR_TEMPORAL_TLS_CERT_FILE": str(tmp_path / "client.pem"),
            "ORCHESTRATOR_TEMPORAL_TLS_KEY_FILE": str(tmp_path / "client.key"),
            "ORCHESTRATOR_TEMPORAL_TLS_SERVER_NAME": "ns.tmprl.cloud",
            "ORCHESTRATOR_TEMPORAL_API_KEY_FILE": str(key),
        }
    )
    assert settings.temporal_tls is not None
    assert settings.temporal_tls.server_name == "ns.tmprl.cloud"
    assert settings.temporal_api_key is not None
    assert settings.temporal_api_key.reveal() == "tcld-secret-key"
    assert "tcld-secret-key" not in repr(settings)


def test_mtls_needs_both_certificate_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="go together"):
        Settings.from_env({"ORCHESTRATOR_TEMPORAL_TLS_CERT_FILE": str(tmp_path / "c.pem")})


def test_launchdarkly_backend_names_what_is_missing() -> None:
    with pytest.raises(ConfigError, match="LAUNCHDARKLY_SDK_KEY") as caught:
        Settings.from_env(
            {"ORCHESTRATOR_FLAG_BACKEND": "launchdarkly", "LAUNCHDARKLY_API_TOKEN": "api-x"}
        )
    assert "api-x" not in str(caught.value)


def test_every_variable_read_is_in_the_table() -> None:
    with pytest.raises(KeyError, match="not in the settings table"):
        Env({}).raw("ORCHESTRATOR_NO_SUCH_SETTING")


def test_operations_doc_lists_every_variable() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    missing = [name for name in VARIABLES if f"`{name}`" not in doc]
    assert not missing, f"docs/operations.md does not document {missing}"
