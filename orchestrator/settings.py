"""One frozen settings object, built once at start-up from the environment (read nowhere else)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

DEFAULT_TASK_QUEUE = "incident-remediation"
DEFAULT_STATE_DIR = Path(".orchestrator")


def _read_secret(env: Mapping[str, str], name: str) -> Secret | None:
    """``NAME`` or the contents of the file named by ``NAME_FILE``."""
    if env.get(name):
        return Secret(env[name])
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Secret(Path(path).read_text().strip())
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


@dataclass(frozen=True)
class LaunchDarklySettings:
    api_token: Secret
    sdk_key: Secret
    project_key: str
    environment_key: str
    base_url: str = "https://app.launchdarkly.com"
    sdk_base_uri: str | None = None
    sdk_stream_uri: str | None = None
    sdk_events_uri: str | None = None


@dataclass(frozen=True)
class Settings:
    state_dir: Path = DEFAULT_STATE_DIR
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    task_queue: str = DEFAULT_TASK_QUEUE
    workflow_id_prefix: str = "incident"
    catalog_path: Path = Path("catalog/catalog.yaml")
    playbooks_path: Path = Path("playbooks")
    audit_url: str = ""
    flag_backend: Literal["local", "launchdarkly"] = "local"
    launchdarkly: LaunchDarklySettings | None = None
    kill_switch: bool = False
    """Notify-only: when true, no playbook step with an external effect runs."""
    sdk_poll_interval: float = 0.2
    actor: str = field(default="")

    @property
    def effective_audit_url(self) -> str:
        return self.audit_url or f"sqlite:///{(self.state_dir / 'audit.db').resolve()}"

    @property
    def flag_state_path(self) -> Path:
        return self.state_dir / "flags" / "flags.state.json"

    @property
    def flag_sdk_path(self) -> Path:
        return self.state_dir / "flags" / "flags.sdk.json"

    @property
    def temporal_db_path(self) -> Path:
        return self.state_dir / "temporal.db"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``ORCHESTRATOR_*`` variables (see docs/operations.md)."""
        env = os.environ if env is None else env
        backend = env.get("ORCHESTRATOR_FLAG_BACKEND", "local")
        if backend not in ("local", "launchdarkly"):
            raise ConfigError(
                f"ORCHESTRATOR_FLAG_BACKEND must be 'local' or 'launchdarkly', got {backend!r}"
            )
        ld = None
        if backend == "launchdarkly":
            token = _read_secret(env, "LAUNCHDARKLY_API_TOKEN")
            sdk_key = _read_secret(env, "LAUNCHDARKLY_SDK_KEY")
            project = env.get("LAUNCHDARKLY_PROJECT_KEY", "")
            environment = env.get("LAUNCHDARKLY_ENVIRONMENT_KEY", "")
            missing = [
                name
                for name, value in (
                    ("LAUNCHDARKLY_API_TOKEN", token),
                    ("LAUNCHDARKLY_SDK_KEY", sdk_key),
                    ("LAUNCHDARKLY_PROJECT_KEY", project),
                    ("LAUNCHDARKLY_ENVIRONMENT_KEY", environment),
                )
                if not value
            ]
            if missing or token is None or sdk_key is None:
                raise ConfigError(f"the launchdarkly flag backend needs {', '.join(missing)}")
            ld = LaunchDarklySettings(
                api_token=token,
                sdk_key=sdk_key,
                project_key=project,
                environment_key=environment,
                base_url=env.get("LAUNCHDARKLY_BASE_URL", "https://app.launchdarkly.com"),
                sdk_base_uri=env.get("LAUNCHDARKLY_SDK_BASE_URI") or None,
                sdk_stream_uri=env.get("LAUNCHDARKLY_SDK_STREAM_URI") or None,
                sdk_events_uri=env.get("LAUNCHDARKLY_SDK_EVENTS_URI") or None,
            )
        return cls(
            state_dir=Path(env.get("ORCHESTRATOR_STATE_DIR", str(DEFAULT_STATE_DIR))),
            temporal_address=env.get("ORCHESTRATOR_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace=env.get("ORCHESTRATOR_TEMPORAL_NAMESPACE", "default"),
            temporal_ui_port=int(_float(env, "ORCHESTRATOR_TEMPORAL_UI_PORT", 8233)),
            api_host=env.get("ORCHESTRATOR_API_HOST", "127.0.0.1"),
            api_port=int(_float(env, "ORCHESTRATOR_API_PORT", 8080)),
            task_queue=env.get("ORCHESTRATOR_TASK_QUEUE", DEFAULT_TASK_QUEUE),
            workflow_id_prefix=env.get("ORCHESTRATOR_WORKFLOW_ID_PREFIX", "incident"),
            catalog_path=Path(env.get("ORCHESTRATOR_CATALOG", "catalog/catalog.yaml")),
            playbooks_path=Path(env.get("ORCHESTRATOR_PLAYBOOKS", "playbooks")),
            audit_url=env.get("ORCHESTRATOR_AUDIT_URL", ""),
            flag_backend="launchdarkly" if backend == "launchdarkly" else "local",
            launchdarkly=ld,
            kill_switch=env.get("ORCHESTRATOR_KILL_SWITCH", "").lower() in ("1", "true", "yes"),
            sdk_poll_interval=_float(env, "ORCHESTRATOR_SDK_POLL_INTERVAL", 0.2),
            actor=env.get("ORCHESTRATOR_ACTOR") or env.get("USER", "") or "unknown",
        )
