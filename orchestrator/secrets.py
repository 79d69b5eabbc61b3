"""Secrets and redaction: a secret never reaches a log line, an audit record or an error message."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|sdk[_-]?key|authorization|signature|cookie|dsn)",
    re.IGNORECASE,
)
_INLINE = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)\b(api|sdk|mob)-[0-9a-f]{8}-[0-9a-f-]{27,}"),
    # Greedy up to the last '@' before the host: a password may itself contain '@'.
    re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]+:)\S+(@)(?=[^@\s]*$|[^@\s]*[\s/])"),
]


class Secret:
    """A string that prints as ``[redacted]``; call :meth:`reveal` at the one place it is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """Mask bearer tokens, LaunchDarkly keys and DSN passwords that appear inside free text."""
    for pattern in _INLINE:
        text = pattern.sub(
            lambda m: (
                (m.group(1) if m.lastindex else "")
                + REDACTED
                + (m.group(2) if m.lastindex and m.lastindex >= 2 else "")
            ),
            text,
        )
    return text


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys masked and secrets inside strings masked."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
