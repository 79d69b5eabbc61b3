"""Settings of the ingest service: one frozen object, built once from the environment at start-up.

Every variable is optional. A token or secret is read from ``NAME`` or from the file named by
``NAME_FILE`` (one value per non-empty line, so a second line lets a secret be rotated without
downtime). Nothing here reads the environment at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import ConfigError
from orchestrator.ingest.mapping import LabelMapping
from orchestrator.secrets import Secret

SOURCES = ("alertmanager", "grafana", "generic", "operator")
"""Who posts: the three ways a breach signal arrives over HTTP (also the ``source`` of those
signals), and ``operator``, the on-call API under ``/v1/incidents`` (manual launch, approvals)."""

PREFIX = "ORCHESTRATOR_INGEST_"
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
SIGNATURE_HEADER = "X-Orchestrator-Signature"
MIB = 1024 * 1024


@dataclass(frozen=True)
class SourceAuth:
    """How one source proves who it is: bearer tokens, an HMAC over the raw body, or both.

    Every mechanism that is configured must pass. ``timestamp_header`` is only consulted when an
    HMAC secret is set: then the sender signs ``"<unix seconds>:<body>"`` (Grafana's scheme) and a
    timestamp outside the window is refused.
    """

    tokens: tuple[Secret, ...] = ()
    hmac_secrets: tuple[Secret, ...] = ()
    signature_header: str = SIGNATURE_HEADER
    timestamp_header: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.tokens or self.hmac_secrets)


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

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        read_file: Callable[[str], str] | None = None,
    ) -> IngestSettings:
        return from_env(environ, read_file)


def _read_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _secrets(
    environ: Mapping[str, str], name: str, read: Callable[[str], str]
) -> tuple[Secret, ...]:
    values: list[str] = []
    inline = environ.get(name, "").strip()
    if inline:
        values.append(inline)
    path = environ.get(f"{name}_FILE", "").strip()
    if path:
        try:
            text = read(path)
        except OSError as exc:
            raise ConfigError(f"cannot read {name}_FILE ({path}): {exc.strerror}") from exc
        values.extend(line.strip() for line in text.splitlines() if line.strip())
    return tuple(Secret(v) for v in values)


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(PREFIX + name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc


def _bool(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(PREFIX + name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def _source_auth(environ: Mapping[str, str], source: str, read: Callable[[str], str]) -> SourceAuth:
    key = PREFIX + source.upper()
    default_header = GRAFANA_SIGNATURE_HEADER if source == "grafana" else SIGNATURE_HEADER
    return SourceAuth(
        tokens=_secrets(environ, f"{key}_TOKEN", read),
        hmac_secrets=_secrets(environ, f"{key}_HMAC_SECRET", read),
        signature_header=environ.get(f"{key}_SIGNATURE_HEADER", "").strip() or default_header,
        timestamp_header=environ.get(f"{key}_TIMESTAMP_HEADER", "").strip(),
    )


def from_env(
    environ: Mapping[str, str], read_file: Callable[[str], str] | None = None
) -> IngestSettings:
    """Build :class:`IngestSettings` from ``ORCHESTRATOR_INGEST_*`` variables (see docs/ingest.md).

    Per source (``ALERTMANAGER``, ``GRAFANA``, ``GENERIC``): ``<SOURCE>_TOKEN[_FILE]``,
    ``<SOURCE>_HMAC_SECRET[_FILE]``, ``<SOURCE>_SIGNATURE_HEADER``, ``<SOURCE>_TIMESTAMP_HEADER``.
    Service-wide: ``MAX_BODY_BYTES``, ``MAX_ALERTS``, ``MAX_DEPTH``, ``TIMESTAMP_WINDOW_SECONDS``,
    ``RETRY_AFTER_SECONDS``, ``ALLOW_UNAUTHENTICATED``, ``LABEL_MAPPING_FILE`` (YAML).
    """
    read = read_file or _read_text
    mapping = LabelMapping()
    mapping_path = environ.get(PREFIX + "LABEL_MAPPING_FILE", "").strip()
    if mapping_path:
        try:
            text = read(mapping_path)
        except OSError as exc:
            raise ConfigError(f"cannot read label mapping {mapping_path}: {exc.strerror}") from exc
        mapping = LabelMapping.from_yaml(text, mapping_path)
    defaults = IngestSettings()
    return IngestSettings(
        auth={source: _source_auth(environ, source, read) for source in SOURCES},
        allow_unauthenticated=_bool(environ, "ALLOW_UNAUTHENTICATED"),
        max_body_bytes=_int(environ, "MAX_BODY_BYTES", defaults.max_body_bytes),
        max_alerts=_int(environ, "MAX_ALERTS", defaults.max_alerts),
        max_depth=_int(environ, "MAX_DEPTH", defaults.max_depth),
        timestamp_window_seconds=_int(
            environ, "TIMESTAMP_WINDOW_SECONDS", defaults.timestamp_window_seconds
        ),
        retry_after_seconds=_int(environ, "RETRY_AFTER_SECONDS", defaults.retry_after_seconds),
        mapping=mapping,
    )
