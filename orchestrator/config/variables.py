"""The settings table: every environment variable the orchestrator reads, with its default.

One table for the api, the worker and the CLI. :class:`~orchestrator.config.env.Env` refuses to
read a name that is not here, docs/operations.md documents each row, and a test checks that every
variable docker-compose.yml sets is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "path", "bool", "int", "duration", "choice", "secret", "file"]

INGEST_PREFIX = "ORCHESTRATOR_INGEST_"
INGEST_SIGNAL_SOURCES = ("alertmanager", "grafana", "generic")
"""The sources that post breach signals, and so may sign them with an HMAC."""
INGEST_SOURCES = INGEST_SIGNAL_SOURCES
"""Who posts breach signals: the three ways one arrives over HTTP (also the ``source`` of those
signals). People use the operator API under ``/v1`` with their own tokens (ORCHESTRATOR_TOKENS_FILE,
docs/security.md)."""
RETIRED = {
    INGEST_PREFIX + "OPERATOR_TOKEN": "ORCHESTRATOR_TOKENS_FILE (named principals with roles)",
    INGEST_PREFIX + "OPERATOR_TOKEN_FILE": "ORCHESTRATOR_TOKENS_FILE (named principals with roles)",
}
"""Variables an older release read, refused at start with what replaces them (a shared operator
token cannot tell two people apart)."""


@dataclass(frozen=True)
class Variable:
    name: str
    kind: Kind
    default: str
    meaning: str
    external: bool = False
    """Read by a library the orchestrator uses (libpq), not by the orchestrator's own parser."""


def _v(name: str, kind: Kind, default: str, meaning: str, *, external: bool = False) -> Variable:
    return Variable(name, kind, default, meaning, external)


def _secret(name: str, meaning: str) -> tuple[Variable, Variable]:
    return (
        _v(name, "secret", "-", meaning),
        _v(f"{name}_FILE", "file", "-", f"file holding {name} (one value a line: rotation)"),
    )


_CORE = (
    _v("ORCHESTRATOR_STATE_DIR", "path", ".orchestrator", "local state folder"),
    _v("ORCHESTRATOR_TEMPORAL_ADDRESS", "text", "127.0.0.1:7233", "Temporal frontend host:port"),
    _v("ORCHESTRATOR_TEMPORAL_NAMESPACE", "text", "default", "Temporal namespace"),
    _v("ORCHESTRATOR_TEMPORAL_TLS", "bool", "false", "TLS to Temporal (implied by the TLS files)"),
    _v("ORCHESTRATOR_TEMPORAL_TLS_CA_FILE", "path", "-", "CA bundle of the Temporal server"),
    _v("ORCHESTRATOR_TEMPORAL_TLS_CERT_FILE", "path", "-", "client certificate (mTLS)"),
    _v("ORCHESTRATOR_TEMPORAL_TLS_KEY_FILE", "path", "-", "client private key (mTLS)"),
    _v("ORCHESTRATOR_TEMPORAL_TLS_SERVER_NAME", "text", "-", "TLS server name override"),
    *_secret("ORCHESTRATOR_TEMPORAL_API_KEY", "Temporal Cloud API key (implies TLS)"),
    _v("ORCHESTRATOR_TEMPORAL_UI_PORT", "int", "8233", "Web UI port of the embedded dev server"),
    _v("ORCHESTRATOR_API_HOST", "text", "127.0.0.1", "listen address of the HTTP API"),
    _v("ORCHESTRATOR_API_PORT", "int", "8080", "listen port of the HTTP API"),
    _v("ORCHESTRATOR_TASK_QUEUE", "text", "incident-remediation", "Temporal task queue"),
    _v(
        "ORCHESTRATOR_WORKFLOW_ID_PREFIX",
        "text",
        "incident",
        "workflow id prefix: 1 to 32 lower-case letters, digits and single hyphens",
    ),
    _v("ORCHESTRATOR_CATALOG", "path", "catalog/catalog.yaml", "service and SLO catalog"),
    _v("ORCHESTRATOR_PLAYBOOKS", "path", "playbooks", "playbook file or folder"),
    _v("ORCHESTRATOR_AUDIT_URL", "text", "sqlite:///<state>/audit.db", "audit store URL"),
    *_secret("ORCHESTRATOR_AUDIT_SIGNING_KEY", "HMAC-SHA256 key signing audit digests, exports"),
    _v("ORCHESTRATOR_AUDIT_ED25519_KEY_FILE", "path", "-", "Ed25519 private key (PEM) instead"),
    _v("ORCHESTRATOR_AUDIT_DIGEST_EVERY", "int", "1000", "events between signed audit digests"),
    _v("ORCHESTRATOR_AUDIT_DIGEST_INTERVAL", "duration", "60m", "longest time between digests"),
    _v("ORCHESTRATOR_FLAG_BACKEND", "choice", "local", "local or launchdarkly"),
    _v(
        "ORCHESTRATOR_KILL_SWITCH",
        "bool",
        "false",
        "floor: this worker is notify-only whatever the database says",
    ),
    _v("ORCHESTRATOR_SDK_POLL_INTERVAL", "duration", "200ms", "SDK poll of the local flag file"),
    _v("ORCHESTRATOR_ALERT_MEMORY", "duration", "4h", "how long resolved alerts are remembered"),
    _v(
        "ORCHESTRATOR_HISTORY_LIMIT",
        "int",
        "2000",
        "history events after which a workflow continues as new (200 to 40000)",
    ),
    _v(
        "ORCHESTRATOR_WORKER_CACHE",
        "int",
        "200",
        "workflows a worker keeps in memory between their tasks (10 to 10000)",
    ),
    _v(
        "ORCHESTRATOR_WORKER_POLLERS",
        "int",
        "10",
        "workflow-task pollers per worker, half on the shared queue (2 to 100)",
    ),
    _v(
        "ORCHESTRATOR_RATE_LIMIT_CAP",
        "duration",
        "60s",
        "longest provider Retry-After waited out; longer: the step waits for a person",
    ),
    _v("ORCHESTRATOR_ACTOR", "text", "$USER", "who the CLI records as acting (signals)"),
    _v("USER", "text", "unknown", "fallback for ORCHESTRATOR_ACTOR"),
    _v("ORCHESTRATOR_TOKENS_FILE", "path", "-", "operator principals: token hash -> name, roles"),
    _v("ORCHESTRATOR_API_URL", "text", "http://<api host>:<api port>", "API the CLI talks to"),
    *_secret("ORCHESTRATOR_TOKEN", "the CLI's operator token (default: <state>/operator.token)"),
)

_LAUNCHDARKLY = (
    *_secret("LAUNCHDARKLY_API_TOKEN", "REST API access token"),
    *_secret("LAUNCHDARKLY_SDK_KEY", "server-side SDK key, for verification"),
    _v("LAUNCHDARKLY_PROJECT_KEY", "text", "-", "project of the flags"),
    _v("LAUNCHDARKLY_ENVIRONMENT_KEY", "text", "-", "environment of the flags"),
    _v("LAUNCHDARKLY_BASE_URL", "text", "https://app.launchdarkly.com", "REST API base"),
    _v("LAUNCHDARKLY_SDK_BASE_URI", "text", "-", "SDK polling base (relay proxy)"),
    _v("LAUNCHDARKLY_SDK_STREAM_URI", "text", "-", "SDK streaming base (relay proxy)"),
    _v("LAUNCHDARKLY_SDK_EVENTS_URI", "text", "-", "SDK events base (relay proxy)"),
)


_TICKETS = (
    _v("ORCHESTRATOR_TICKETS", "choice", "local", "RCA tickets: local, github or jira"),
    *_secret("ORCHESTRATOR_GITHUB_TOKEN", "GitHub token: Issues read/write on one repository"),
    _v("ORCHESTRATOR_GITHUB_REPO", "text", "-", "owner/name of the RCA tickets' repository"),
    _v("ORCHESTRATOR_GITHUB_API_URL", "text", "https://api.github.com", "GitHub REST API base"),
    _v("ORCHESTRATOR_JIRA_URL", "text", "-", "Jira Cloud site, https://<site>.atlassian.net"),
    _v("ORCHESTRATOR_JIRA_EMAIL", "text", "-", "the Jira account the API token belongs to"),
    *_secret("ORCHESTRATOR_JIRA_TOKEN", "Jira API token of that account"),
    _v("ORCHESTRATOR_JIRA_PROJECT", "text", "-", "project key of the RCA tickets"),
    _v("ORCHESTRATOR_JIRA_ISSUE_TYPE", "text", "Task", "issue type of the RCA tickets"),
)


_INTEGRATIONS = (
    _v("ORCHESTRATOR_PAGER", "choice", "local", "local (inbox file) or pagerduty"),
    *_secret("ORCHESTRATOR_PAGERDUTY_ROUTING_KEY", "Events API v2 integration (routing) key"),
    _v(
        "ORCHESTRATOR_PAGERDUTY_EVENTS_URL",
        "text",
        "https://events.pagerduty.com/v2/enqueue",
        "PagerDuty Events API v2 endpoint",
    ),
    _v("ORCHESTRATOR_CHAT", "choice", "none", "none or slack (the incident channel)"),
    *_secret("ORCHESTRATOR_SLACK_WEBHOOK_URL", "Slack incoming webhook URL (its path is secret)"),
    *_secret("ORCHESTRATOR_SLACK_BOT_TOKEN", "Slack bot token with chat:write (threads)"),
    _v("ORCHESTRATOR_SLACK_CHANNEL", "text", "-", "channel id the bot token posts to"),
    _v("ORCHESTRATOR_SLACK_API_URL", "text", "https://slack.com/api", "Slack Web API base"),
    _v("ORCHESTRATOR_DEPLOY", "choice", "local", "local (state folder) or webhook (a CI/CD API)"),
    _v("ORCHESTRATOR_DEPLOY_WEBHOOK_FILE", "path", "-", "YAML of the deploy webhook's requests"),
    _v("ORCHESTRATOR_WEBHOOK_URL", "text", "-", "generic outgoing webhook: where notices go"),
    *_secret("ORCHESTRATOR_WEBHOOK_SECRET", "HMAC-SHA256 key signing the outgoing webhook"),
    _v(
        "ORCHESTRATOR_LINK_BASE_URL",
        "text",
        "-",
        "public base URL of the operator API: links to the incident in pages and chat",
    ),
)


_MODEL_REGISTRY = (
    _v(
        "ORCHESTRATOR_MODEL_REGISTRY",
        "choice",
        "none",
        "none or mlflow: where component versions live",
    ),
    _v(
        "ORCHESTRATOR_MLFLOW_TRACKING_URI",
        "text",
        "-",
        "MLflow tracking server, https://host[:port]",
    ),
    _v(
        "ORCHESTRATOR_MLFLOW_MODELS",
        "text",
        "-",
        "components MLflow serves: service/component=registered model[@alias], comma-separated",
    ),
    _v("ORCHESTRATOR_MLFLOW_ALIAS", "text", "champion", "serving alias of an entry naming none"),
    *_secret("ORCHESTRATOR_MLFLOW_TOKEN", "MLflow bearer token (MLFLOW_TRACKING_TOKEN)"),
    _v("ORCHESTRATOR_MLFLOW_USERNAME", "text", "-", "MLflow basic-auth user (EDIT on the models)"),
    *_secret("ORCHESTRATOR_MLFLOW_PASSWORD", "password of that MLflow user"),
)


def _ingest_source(source: str) -> tuple[Variable, ...]:
    key = INGEST_PREFIX + source.upper()
    return (
        *_secret(f"{key}_TOKEN", f"bearer token(s) of {source}"),
        *_secret(f"{key}_HMAC_SECRET", f"HMAC-SHA256 signing secret(s) of {source}"),
        _v(
            f"{key}_SIGNATURE_HEADER",
            "text",
            signing_header(source, "Signature"),
            "signature header",
        ),
        _v(
            f"{key}_TIMESTAMP_HEADER",
            "text",
            signing_header(source, "Timestamp"),
            "signed time header",
        ),
    )


def signing_header(source: str, what: Literal["Signature", "Timestamp"]) -> str:
    """The default header of a source's signature or signed time. Grafana's signature header is
    ``X-Grafana-Alerting-Signature``; its timestamp header has no default (the contact point sends
    none until one is named), ``X-Grafana-Alerting-Timestamp`` is the name Grafana's own
    provisioning examples use, and ours for Grafana."""
    return f"X-Grafana-Alerting-{what}" if source == "grafana" else f"X-Orchestrator-{what}"


def _untimestamped(source: str) -> Variable:
    name = f"{INGEST_PREFIX}{source.upper()}_HMAC_UNTIMESTAMPED"
    return _v(name, "bool", "false", "also accept HMACs without a timestamp (weaker, warned)")


_INGEST = (
    *(v for source in INGEST_SOURCES for v in _ingest_source(source)),
    *(_untimestamped(source) for source in INGEST_SIGNAL_SOURCES),
    _v(
        INGEST_PREFIX + "ALLOW_UNAUTHENTICATED",
        "bool",
        "false",
        "accept unauthenticated breach signals (loopback only, warned; never the operator API)",
    ),
    _v(INGEST_PREFIX + "MAX_BODY_BYTES", "int", "1048576", "largest request body"),
    _v(INGEST_PREFIX + "MAX_ALERTS", "int", "500", "most alerts in one payload"),
    _v(INGEST_PREFIX + "MAX_DEPTH", "int", "32", "deepest JSON nesting"),
    _v(INGEST_PREFIX + "TIMESTAMP_WINDOW_SECONDS", "int", "300", "signed timestamp window"),
    _v(INGEST_PREFIX + "RETRY_AFTER_SECONDS", "int", "30", "Retry-After when Temporal is away"),
    _v(INGEST_PREFIX + "LABEL_MAPPING_FILE", "path", "-", "YAML label mapping"),
)

_EXTERNAL = (
    _v("PGPASSFILE", "path", "~/.pgpass", "libpq password file", external=True),
    _v("PGPASSWORD", "secret", "-", "libpq password", external=True),
    _v("PGSSLMODE", "text", "prefer", "libpq TLS mode", external=True),
)

VARIABLES: dict[str, Variable] = {
    v.name: v
    for v in (
        *_CORE,
        *_LAUNCHDARKLY,
        *_TICKETS,
        *_INTEGRATIONS,
        *_MODEL_REGISTRY,
        *_INGEST,
        *_EXTERNAL,
    )
}
