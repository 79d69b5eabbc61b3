"""One frozen settings object, built once at start-up from the environment (read nowhere else).

``Settings.from_env()`` is the only place the api, the worker and the CLI read ``ORCHESTRATOR_*``
and ``LAUNCHDARKLY_*`` variables, all through :class:`~orchestrator.config.env.Env`'s strict rules.
The table of variables is :mod:`orchestrator.config.variables` (docs/operations.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from orchestrator.config.deploy import DeploySettings, deploy_from_env
from orchestrator.config.env import Env, ReadFile
from orchestrator.config.ingest import IngestSettings, ingest_from_env
from orchestrator.config.integrations import (
    PagerDutySettings,
    SlackSettings,
    WebhookSettings,
    chat_from_env,
    pager_from_env,
    webhook_from_env,
)
from orchestrator.config.model_registry import mlflow_from_env
from orchestrator.config.principals import Principals
from orchestrator.config.tickets import TicketSettings, tickets_from_env
from orchestrator.config.variables import RETIRED
from orchestrator.domain.model_registry import MlflowSettings
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

DEFAULT_TASK_QUEUE = "incident-remediation"
DEFAULT_STATE_DIR = Path(".orchestrator")
FLAG_BACKENDS = ("local", "launchdarkly")


PREFIX_PATTERN = r"(?=.{1,32}$)[a-z0-9]+(-[a-z0-9]+)*"


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
class TemporalTls:
    """TLS to the Temporal frontend: server CA, client certificate and key (mTLS), server name."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class Settings:
    state_dir: Path = DEFAULT_STATE_DIR
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_tls: TemporalTls | None = None
    """None: plain gRPC (the embedded dev server). Set for Temporal Cloud or a TLS cluster."""
    temporal_api_key: Secret | None = None
    temporal_ui_port: int = 8233
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    task_queue: str = DEFAULT_TASK_QUEUE
    workflow_id_prefix: str = "incident"
    """At most 32 characters (:data:`PREFIX_PATTERN`), so every id built on it fits its models."""
    catalog_path: Path = Path("catalog/catalog.yaml")
    playbooks_path: Path = Path("playbooks")
    audit_url: str = ""
    audit_signing_key: Secret | None = None
    """Signs audit digests and exports (docs/audit.md); never shown."""
    audit_ed25519_key_file: Path | None = None
    audit_digest_every: int = 1000
    audit_digest_interval: float = 3600.0
    flag_backend: Literal["local", "launchdarkly"] = "local"
    launchdarkly: LaunchDarklySettings | None = None
    kill_switch: bool = False
    """Notify-only: when true, no playbook step with an external effect runs."""
    sdk_poll_interval: float = 0.2
    alert_memory: float = 4 * 3600.0
    """Seconds an incident key remembers resolved alerts after it goes quiet (at least the
    hold-down plus Alertmanager's repeat_interval, so a redelivery is not taken as new)."""
    history_limit: int = 2000
    """History events after which a key's workflow or an occurrence continues as new."""
    worker_cache: int = 200
    """Workflows a worker keeps in memory between their tasks (Temporal's sticky cache); one
    evicted is replayed from its history when its next task comes. About 0.15 MB each since
    decoded playbooks are shared (0.5 MB before: the SDK's 1,000 held 700 MB with 1,000
    incidents open); 200 keeps 100 concurrent incidents (their keys and occurrences) without
    replays (docs/BENCHMARKS.md)."""
    worker_pollers: int = 10
    """Workflow-task pollers per worker, as many on the shared queue (new incidents' first tasks)
    as on the worker's own (later tasks of the incidents it holds)."""
    rate_limit_cap: float = 60.0
    """The longest Retry-After a provider's 429 is waited out for; a longer one makes the step
    wait for a person (orchestrator/domain/provider_failures.py)."""
    actor: str = field(default="")
    ingest: IngestSettings = field(default_factory=IngestSettings)
    principals: Principals = field(default_factory=Principals)
    """Who may use the operator API (``ORCHESTRATOR_TOKENS_FILE``); none: every call is refused."""
    tokens_file: Path | None = None
    api_url: str = ""
    """Where the CLI reaches the operator API; default from api_host and api_port."""
    token: Secret | None = None
    """The CLI's own operator token (``ORCHESTRATOR_TOKEN[_FILE]``, else the state folder's)."""
    tickets: TicketSettings = field(default_factory=TicketSettings)
    """Where RCA tickets go (``ORCHESTRATOR_TICKETS``, :mod:`orchestrator.config.tickets`)."""
    pagerduty: PagerDutySettings | None = None
    """None: the local pager (an inbox file in the state folder)."""
    slack: SlackSettings | None = None
    """None: no chat notices."""
    deploy: DeploySettings = field(default_factory=DeploySettings)
    """Where pins, scales and freezes go (``ORCHESTRATOR_DEPLOY``)."""
    webhook: WebhookSettings | None = None
    """None: no generic outgoing webhook (``ORCHESTRATOR_WEBHOOK_URL``)."""
    mlflow: MlflowSettings | None = None
    """None: every component's version in the deployment provider (no model registry)."""
    link_base_url: str = ""
    """The operator API as people reach it: pages and chat messages link to the incident."""

    @property
    def effective_api_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        wildcard = self.api_host in ("0.0.0.0", "::", "")  # noqa: S104 - recognised, not bound
        host = "127.0.0.1" if wildcard else self.api_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.api_port}"

    @property
    def local_token_path(self) -> Path:
        """The token ``orchestrator up`` makes for the local admin when no tokens file is set."""
        return self.state_dir / "operator.token"

    @property
    def local_tokens_file(self) -> Path:
        return self.state_dir / "tokens.yaml"

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
    def audit_spool_dir(self) -> Path:
        """Where this host's workers keep audit events the store would not take (dead letters)."""
        return self.state_dir / "audit-spool"

    @property
    def temporal_db_path(self) -> Path:
        return self.state_dir / "temporal.db"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, read_file: ReadFile | None = None
    ) -> Settings:
        """Build settings from the environment (see docs/operations.md); ConfigError, one line
        naming the variable, for any value the strict rules refuse."""
        environ = os.environ if environ is None else environ
        for name, instead in RETIRED.items():
            if environ.get(name, "").strip():
                raise ConfigError(f"{name} is no longer read; use {instead}: docs/security.md")
        env = Env(environ, read_file)
        tokens_file = env.raw("ORCHESTRATOR_TOKENS_FILE")
        backend = env.choice("ORCHESTRATOR_FLAG_BACKEND", FLAG_BACKENDS, "local")
        port = {"minimum": 1, "maximum": 65535}
        return cls(
            state_dir=env.path("ORCHESTRATOR_STATE_DIR", DEFAULT_STATE_DIR),
            temporal_address=env.text("ORCHESTRATOR_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace=env.text("ORCHESTRATOR_TEMPORAL_NAMESPACE", "default"),
            temporal_tls=_temporal_tls(env),
            temporal_api_key=env.secret("ORCHESTRATOR_TEMPORAL_API_KEY"),
            temporal_ui_port=env.integer("ORCHESTRATOR_TEMPORAL_UI_PORT", 8233, **port),
            api_host=env.text("ORCHESTRATOR_API_HOST", "127.0.0.1"),
            api_port=env.integer("ORCHESTRATOR_API_PORT", 8080, **port),
            task_queue=env.text("ORCHESTRATOR_TASK_QUEUE", DEFAULT_TASK_QUEUE),
            workflow_id_prefix=env.matching(
                "ORCHESTRATOR_WORKFLOW_ID_PREFIX",
                PREFIX_PATTERN,
                "incident",
                "1 to 32 lower-case letters, digits and single hyphens",
            ),
            catalog_path=env.path("ORCHESTRATOR_CATALOG", Path("catalog/catalog.yaml")),
            playbooks_path=env.path("ORCHESTRATOR_PLAYBOOKS", Path("playbooks")),
            audit_url=env.text("ORCHESTRATOR_AUDIT_URL", ""),
            audit_signing_key=env.secret("ORCHESTRATOR_AUDIT_SIGNING_KEY"),
            audit_ed25519_key_file=_optional_path(env, "ORCHESTRATOR_AUDIT_ED25519_KEY_FILE"),
            audit_digest_every=env.integer("ORCHESTRATOR_AUDIT_DIGEST_EVERY", 1000, minimum=1),
            audit_digest_interval=env.duration("ORCHESTRATOR_AUDIT_DIGEST_INTERVAL", 3600.0),
            flag_backend="launchdarkly" if backend == "launchdarkly" else "local",
            launchdarkly=_launchdarkly(env) if backend == "launchdarkly" else None,
            kill_switch=env.flag("ORCHESTRATOR_KILL_SWITCH"),
            sdk_poll_interval=env.duration("ORCHESTRATOR_SDK_POLL_INTERVAL", 0.2),
            alert_memory=env.duration("ORCHESTRATOR_ALERT_MEMORY", 4 * 3600.0),
            rate_limit_cap=env.duration("ORCHESTRATOR_RATE_LIMIT_CAP", 60.0),
            history_limit=env.integer(
                "ORCHESTRATOR_HISTORY_LIMIT", 2000, minimum=200, maximum=40_000
            ),
            worker_cache=env.integer("ORCHESTRATOR_WORKER_CACHE", 200, minimum=10, maximum=10_000),
            worker_pollers=env.integer("ORCHESTRATOR_WORKER_POLLERS", 10, minimum=2, maximum=100),
            actor=env.raw("ORCHESTRATOR_ACTOR") or env.text("USER", "unknown"),
            ingest=ingest_from_env(env),
            principals=_principals(env),
            tokens_file=Path(tokens_file) if tokens_file else None,
            api_url=env.text("ORCHESTRATOR_API_URL", ""),
            token=env.secret("ORCHESTRATOR_TOKEN"),
            tickets=tickets_from_env(env),
            pagerduty=pager_from_env(env),
            slack=chat_from_env(env),
            deploy=deploy_from_env(env),
            webhook=webhook_from_env(env),
            mlflow=mlflow_from_env(env),
            link_base_url=env.text("ORCHESTRATOR_LINK_BASE_URL", "").rstrip("/"),
        )


def _optional_path(env: Env, name: str) -> Path | None:
    value = env.raw(name)
    return Path(value) if value else None


def _principals(env: Env) -> Principals:
    name = "ORCHESTRATOR_TOKENS_FILE"
    text = env.file_text(name)
    if text is None:
        return Principals()
    return Principals.from_yaml(text, name)


def _temporal_tls(env: Env) -> TemporalTls | None:
    files = {
        key: env.raw(f"ORCHESTRATOR_TEMPORAL_TLS_{key.upper()}_FILE")
        for key in ("ca", "cert", "key")
    }
    server_name = env.raw("ORCHESTRATOR_TEMPORAL_TLS_SERVER_NAME")
    wanted = env.flag("ORCHESTRATOR_TEMPORAL_TLS") or any(files.values()) or bool(server_name)
    if bool(files["cert"]) != bool(files["key"]):
        raise ConfigError(
            "ORCHESTRATOR_TEMPORAL_TLS_CERT_FILE and ORCHESTRATOR_TEMPORAL_TLS_KEY_FILE go"
            " together (mTLS needs both)"
        )
    if not wanted:
        return None
    return TemporalTls(
        ca_file=Path(files["ca"]) if files["ca"] else None,
        cert_file=Path(files["cert"]) if files["cert"] else None,
        key_file=Path(files["key"]) if files["key"] else None,
        server_name=server_name,
    )


def _launchdarkly(env: Env) -> LaunchDarklySettings:
    token = env.secret("LAUNCHDARKLY_API_TOKEN")
    sdk_key = env.secret("LAUNCHDARKLY_SDK_KEY")
    project = env.text("LAUNCHDARKLY_PROJECT_KEY", "")
    environment = env.text("LAUNCHDARKLY_ENVIRONMENT_KEY", "")
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
    return LaunchDarklySettings(
        api_token=token,
        sdk_key=sdk_key,
        project_key=project,
        environment_key=environment,
        base_url=env.text("LAUNCHDARKLY_BASE_URL", "https://app.launchdarkly.com"),
        sdk_base_uri=env.raw("LAUNCHDARKLY_SDK_BASE_URI"),
        sdk_stream_uri=env.raw("LAUNCHDARKLY_SDK_STREAM_URI"),
        sdk_events_uri=env.raw("LAUNCHDARKLY_SDK_EVENTS_URI"),
    )
