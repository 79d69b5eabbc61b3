"""Ingest settings come from the same strict parser as every other setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config.ingest import SourceAuth
from orchestrator.config.settings import Settings
from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret


def ingest(environ: dict[str, str]):  # type: ignore[no-untyped-def]
    return Settings.from_env(environ).ingest


def test_defaults() -> None:
    settings = ingest({})
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.timestamp_window_seconds == 300
    assert not settings.allow_unauthenticated
    grafana = settings.auth_for("grafana")
    assert grafana.signature_header == "X-Grafana-Alerting-Signature"
    assert grafana.timestamp_header == "X-Grafana-Alerting-Timestamp"
    assert not grafana.configured
    generic = settings.auth_for("generic")
    assert (generic.signature_header, generic.timestamp_header) == (
        "X-Orchestrator-Signature",
        "X-Orchestrator-Timestamp",
    )
    assert not any(settings.auth_for(s).hmac_untimestamped for s in ("grafana", "generic"))
    assert settings.mapping == LabelMapping()


def test_tokens_from_env_and_files(tmp_path: Path) -> None:
    token_file = tmp_path / "am-token"
    token_file.write_text("from-file-1\n\nfrom-file-2\n")
    secret_file = tmp_path / "hmac"
    secret_file.write_text("s3cret\n")
    settings = ingest(
        {
            "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN": "inline",
            "ORCHESTRATOR_INGEST_ALERTMANAGER_TOKEN_FILE": str(token_file),
            "ORCHESTRATOR_INGEST_GRAFANA_HMAC_SECRET_FILE": str(secret_file),
            "ORCHESTRATOR_INGEST_GRAFANA_TIMESTAMP_HEADER": "X-Grafana-Alerting-Timestamp",
            "ORCHESTRATOR_INGEST_MAX_BODY_BYTES": "2048",
            "ORCHESTRATOR_INGEST_MAX_ALERTS": "10",
            "ORCHESTRATOR_INGEST_TIMESTAMP_WINDOW_SECONDS": "60",
            "ORCHESTRATOR_INGEST_ALLOW_UNAUTHENTICATED": "false",
        }
    )
    am = settings.auth_for("alertmanager")
    assert [t.reveal() for t in am.tokens] == ["inline", "from-file-1", "from-file-2"]
    grafana = settings.auth_for("grafana")
    assert [s.reveal() for s in grafana.hmac_secrets] == ["s3cret"]
    assert grafana.timestamp_header == "X-Grafana-Alerting-Timestamp"
    assert (settings.max_body_bytes, settings.max_alerts) == (2048, 10)
    assert settings.timestamp_window_seconds == 60
    assert "inline" not in repr(settings)
    assert "s3cret" not in repr(settings)


def test_untimestamped_hmac_is_an_explicit_opt_in_per_source() -> None:
    settings = ingest(
        {
            "ORCHESTRATOR_INGEST_GENERIC_HMAC_SECRET": "g-secret",
            "ORCHESTRATOR_INGEST_GENERIC_HMAC_UNTIMESTAMPED": "true",
            "ORCHESTRATOR_INGEST_GRAFANA_HMAC_SECRET": "gr-secret",
        }
    )
    assert settings.auth_for("generic").accepts_untimestamped
    assert not settings.auth_for("grafana").accepts_untimestamped
    with pytest.raises(ConfigError, match="true/false"):
        ingest({"ORCHESTRATOR_INGEST_GRAFANA_HMAC_UNTIMESTAMPED": "sometimes"})


def test_a_signing_secret_needs_a_timestamp_header_or_the_opt_in() -> None:
    secret = (Secret("s"),)
    with pytest.raises(ConfigError, match="timestamp header"):
        SourceAuth(hmac_secrets=secret, timestamp_header="")
    assert SourceAuth(hmac_secrets=secret, timestamp_header="", hmac_untimestamped=True)


def test_label_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("service: [app]\ntier_burn_rates: {sev1: 20}\n")
    settings = ingest({"ORCHESTRATOR_INGEST_LABEL_MAPPING_FILE": str(path)})
    assert settings.mapping.service == ("app",)
    assert settings.mapping.tier_burn_rates == {"sev1": 20.0}
    assert settings.mapping.slo == LabelMapping().slo


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"ORCHESTRATOR_INGEST_MAX_BODY_BYTES": "lots"}, "must be an integer"),
        ({"ORCHESTRATOR_INGEST_MAX_ALERTS": "0"}, "must be at least 1"),
        ({"ORCHESTRATOR_INGEST_ALLOW_UNAUTHENTICATED": "maybe"}, "true/false"),
        ({"ORCHESTRATOR_INGEST_GENERIC_TOKEN_FILE": "/nonexistent/token"}, "cannot read"),
        ({"ORCHESTRATOR_INGEST_LABEL_MAPPING_FILE": "/nonexistent/m.yaml"}, "cannot read"),
    ],
)
def test_bad_settings(environ: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        ingest(environ)
    assert next(iter(environ)) in str(caught.value)


def test_bad_mapping_file(tmp_path: Path) -> None:
    path = tmp_path / "mapping.yaml"
    path.write_text("servise: [app]\n")
    with pytest.raises(ConfigError, match="servise"):
        ingest({"ORCHESTRATOR_INGEST_LABEL_MAPPING_FILE": str(path)})
    path.write_text("service: [app\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        ingest({"ORCHESTRATOR_INGEST_LABEL_MAPPING_FILE": str(path)})
