"""Settings of the HTTP ingest and on-call API, read by the same strict parser as everything else.

Every variable is optional. A token or secret is read from ``NAME`` or from the file named by
``NAME_FILE`` (one value per non-empty line, so a second line lets a secret be rotated without
downtime). See docs/ingest.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestrator.config.env import Env
from orchestrator.config.variables import (
    INGEST_PREFIX,
    INGEST_SIGNAL_SOURCES,
    INGEST_SOURCES,
    signing_header,
)
from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

SOURCES = INGEST_SOURCES
SIGNAL_SOURCES = INGEST_SIGNAL_SOURCES
PREFIX = INGEST_PREFIX
SIGNATURE_HEADER = signing_header("generic", "Signature")
TIMESTAMP_HEADER = signing_header("generic", "Timestamp")
MIB = 1024 * 1024


@dataclass(frozen=True)
class SourceAuth:
    """How one source proves who it is: bearer tokens, an HMAC over the raw body, or both.

    Every mechanism that is configured must pass. With an HMAC secret the sender signs
    ``"<unix seconds>:" + body`` (Grafana's scheme) and sends the time in ``timestamp_header``; a
    timestamp outside the window is refused. ``hmac_untimestamped`` (an explicit, warned opt-in)
    also accepts a signature over the body alone when no timestamp header is sent: such a
    signature can only be told from a replay while it is remembered (docs/ingest.md).
    """

    tokens: tuple[Secret, ...] = ()
    hmac_secrets: tuple[Secret, ...] = ()
    signature_header: str = SIGNATURE_HEADER
    timestamp_header: str = TIMESTAMP_HEADER
    hmac_untimestamped: bool = False

    def __post_init__(self) -> None:
        if self.hmac_secrets and not self.timestamp_header and not self.hmac_untimestamped:
            raise ConfigError(
                "an HMAC secret needs a timestamp header, or the explicit untimestamped opt-in"
            )

    @property
    def configured(self) -> bool:
        return bool(self.tokens or self.hmac_secrets)

    @property
    def accepts_untimestamped(self) -> bool:
        """Signed, and a signature over the body alone (no timestamp) is accepted."""
        return bool(self.hmac_secrets) and self.hmac_untimestamped


@dataclass(frozen=True)
class IngestSettings:
    auth: Mapping[str, SourceAuth] = field(default_factory=dict)
    allow_unauthenticated: bool = False
    """Accept posts for sources with no token or secret configured (local demos only)."""
    max_body_bytes: int = MIB
    max_alerts: int = 500
    max_depth: int = 32
    timestamp_window_seconds: int = 300
    retry_after_seconds: int = 30
    ready_timeout_seconds: float = 2.0
    mapping: LabelMapping = field(default_factory=LabelMapping)

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_alerts", "max_depth", "timestamp_window_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"ingest setting {name} must be positive")
        unknown = sorted(set(self.auth) - set(SOURCES))
        if unknown:
            raise ConfigError(f"ingest auth for unknown sources {unknown}; known: {list(SOURCES)}")

    def auth_for(self, source: str) -> SourceAuth:
        return self.auth.get(source, SourceAuth())


def _source_auth(env: Env, source: str) -> SourceAuth:
    key = PREFIX + source.upper()
    untimestamped = source in SIGNAL_SOURCES and env.flag(f"{key}_HMAC_UNTIMESTAMPED")
    return SourceAuth(
        tokens=env.secrets(f"{key}_TOKEN"),
        hmac_secrets=env.secrets(f"{key}_HMAC_SECRET"),
        signature_header=env.text(f"{key}_SIGNATURE_HEADER", signing_header(source, "Signature")),
        timestamp_header=env.text(f"{key}_TIMESTAMP_HEADER", signing_header(source, "Timestamp")),
        hmac_untimestamped=untimestamped,
    )


def ingest_from_env(env: Env) -> IngestSettings:
    """:class:`IngestSettings` from the ``ORCHESTRATOR_INGEST_*`` variables (docs/ingest.md)."""
    mapping = LabelMapping()
    mapping_name = PREFIX + "LABEL_MAPPING_FILE"
    text = env.file_text(mapping_name)
    if text is not None:
        mapping = LabelMapping.from_yaml(text, env.text(mapping_name, ""))
    defaults = IngestSettings()

    def positive(name: str, default: int) -> int:
        return env.integer(PREFIX + name, default, minimum=1)

    return IngestSettings(
        auth={source: _source_auth(env, source) for source in SOURCES},
        allow_unauthenticated=env.flag(PREFIX + "ALLOW_UNAUTHENTICATED"),
        max_body_bytes=positive("MAX_BODY_BYTES", defaults.max_body_bytes),
        max_alerts=positive("MAX_ALERTS", defaults.max_alerts),
        max_depth=positive("MAX_DEPTH", defaults.max_depth),
        timestamp_window_seconds=positive(
            "TIMESTAMP_WINDOW_SECONDS", defaults.timestamp_window_seconds
        ),
        retry_after_seconds=positive("RETRY_AFTER_SECONDS", defaults.retry_after_seconds),
        mapping=mapping,
    )
