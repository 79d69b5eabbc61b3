"""Breach signals: the one normalised shape every source (webhook, CLI) is turned into."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=63)]
"""Lower-case names for services, SLOs, playbooks: single hyphens only, as they become part of
workflow ids where ``--`` separates service from SLO."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SEGMENT_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")


class SignalStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Segment(BaseModel):
    """A slice of users, as a context attribute and value (``language=es``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    value: str

    @field_validator("key")
    @classmethod
    def _key_is_attribute(cls, key: str) -> str:
        if not _SEGMENT_KEY.match(key):
            raise ValueError(f"segment key {key!r} is not a valid context attribute name")
        return key

    @classmethod
    def parse(cls, text: str) -> Segment:
        """Parse ``key=value`` (the CLI and label form)."""
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"segment must look like key=value, got {text!r}")
        return cls(key=key.strip(), value=value.strip())

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class BreachSignal(BaseModel):
    """An SLO breach (or its resolution) for one service and SLO, from any source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: Slug
    slo: Slug
    dimension: str = Field(min_length=1, max_length=64)
    status: SignalStatus = SignalStatus.FIRING
    segment: Segment | None = None
    observed: float | None = None
    objective: float | None = None
    window: str | None = Field(default=None, max_length=32)
    burn_rate: float | None = Field(default=None, ge=0)
    source: str = Field(default="generic", min_length=1, max_length=64)
    dedupe_key: str = Field(default="", max_length=256)
    started_at: datetime | None = None
    fingerprint: str | None = Field(default=None, max_length=128)
    """The sender's alert identity (Alertmanager/Grafana fingerprint): with ``started_at`` it
    names one alert instance, which the incident key's closed-alert memory remembers."""
    received_at: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    actor: str | None = Field(default=None, max_length=128)
    """Who sent it by hand (CLI, API); None for automatic sources."""
    playbook: Slug | None = None
    """A playbook the on-call engineer asked for by name (manual launch); None: policy chooses."""
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _no_control_characters(self) -> BreachSignal:
        """Refuse control characters in the names a signal carries (they end up in flag clauses,
        audit summaries and log lines, where they break or forge lines), and NUL anywhere (the
        audit store cannot hold it). Free text (labels, reason) may keep newlines and tabs."""
        names = [
            self.source,
            self.dedupe_key,
            self.window or "",
            self.actor or "",
            self.fingerprint or "",
        ]
        if self.segment is not None:
            names += [self.segment.key, self.segment.value]
        if any(_CONTROL.search(text) for text in names):
            raise ValueError("control characters are not allowed in a signal's names")
        free = [self.reason or "", *(t for item in self.labels.items() for t in item)]
        if any("\x00" in text for text in free):
            raise ValueError("NUL characters are not allowed in a signal")
        return self

    @property
    def incident_key(self) -> str:
        """One incident per service and SLO: every signal with this key joins the same incident."""
        return f"{self.service}/{self.slo}"

    def with_dedupe_key(self) -> BreachSignal:
        """Return the signal with a dedupe key: the given one, or a digest of what identifies it."""
        if self.dedupe_key:
            return self
        basis = "|".join(
            [
                self.source,
                self.incident_key,
                self.status.value,
                str(self.segment or ""),
                self.started_at.isoformat() if self.started_at else "",
                self.received_at.isoformat() if self.received_at else "",
            ]
        )
        digest = hashlib.sha256(basis.encode()).hexdigest()[:24]
        return self.model_copy(update={"dedupe_key": digest})


_PLAIN_TAG = re.compile(r"^[A-Za-z0-9_.:=-]{1,48}$")


def segment_tag(segment: Segment) -> str:
    """The segment as it appears in a key: ``language=es`` when that is short and plain (no
    ``--``, which separates an occurrence's time), else ``h`` and a digest of it (never has ``=``,
    so never equal to a plain tag)."""
    text = str(segment)
    if _PLAIN_TAG.match(text) and "--" not in text:
        return text
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:20]


def workflow_id_for(
    service: str, slo: str, prefix: str = "incident", segment: Segment | None = None
) -> str:
    """The Temporal workflow id of the incident key for a service and SLO (slugs, so
    unambiguous), and for a segment when the playbook keeps one incident per segment
    (``<prefix>-<service>--<slo>@language=es``).

    ``prefix`` separates deployments that share one namespace (staging and production, say).
    """
    base = f"{prefix}-{service}--{slo}"
    return base if segment is None else f"{base}@{segment_tag(segment)}"
