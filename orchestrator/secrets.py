"""Secrets and redaction: a secret never reaches a log line, an audit record or an error message.

Two tools: :class:`Secret` holds a credential the code itself uses (it prints as ``[redacted]``),
and :func:`redact_text` / :func:`redact` mask credentials that arrive inside text and data from
elsewhere (a provider's error body, a URL, a header echoed back). :func:`redact_text` is the one
place that knows the shapes of secrets in free text:

* bearer tokens (``Bearer ...``), and the value of an ``Authorization``, ``Cookie`` or other
  credential header (``X-Api-Key: ...``, ``X-Auth-Token: ...``), also when quoted as in JSON;
* URL user info (``https://user:password@host``, any scheme: PostgreSQL DSNs, proxies);
* query parameters and assignments that name a credential (``?token=``, ``access_token=``,
  ``X-Amz-Signature=``, ``X-Goog-Credential=``, ``sig=``, ``api_key=``, ``&key=``, ...), as in
  signed URLs;
* JSON or Python-literal string values under credential-named keys (``"token": "..."``);
* well-known token shapes: LaunchDarkly API, SDK and mobile keys, the orchestrator's own
  operator tokens (``orch_...``), JWTs, GitHub and Slack tokens, AWS access key ids;
* Slack incoming-webhook (and workflow-trigger) URLs, whose path is the credential: everything
  after ``hooks.slack.com/services/`` (``/workflows/``, ``/triggers/``) is masked, and the last
  part of a ``/services/T.../B.../...`` path on any host (a proxy, a relay);
* PagerDuty routing keys under their name (``"routing_key": "..."``, ``routing_key=...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|api[_-]?key|sdk[_-]?key|routing[_-]?key|authorization|signature"
    r"|cookie|dsn|webhook[_-]?url)",
    re.IGNORECASE,
)

# A parameter or assignment name that ends in one of these holds a credential (``name=value``).
_PARAM_NAME = (
    r"(?:token|secret|passw(?:or)?d|pwd|signature|sig|credential|auth|api[_-]?key|apikey"
    r"|sdk[_-]?key|routing[_-]?key|access[_-]?key(?:[_-]?id)?|private[_-]?key)"
)
# A header whose value is a credential.
_HEADER_NAME = (
    r"(?:proxy-)?authorization|x-[\w-]*?(?:token|key|secret|signature|auth|password)[\w-]*"
    r"|api-?key|private-token|[\w-]+-token"
)
_VALUE_END = r"\s\"'&#<>,;()\[\]{}"
_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # Authorization: Bearer x / X-Api-Key: x / "authorization": "x" (an optional scheme word)
        rf"(?P<keep>(?<![\w-])(?:{_HEADER_NAME})[\"']?\s*[:=]\s*[\"']?)"
        rf"(?:(?:bearer|basic|digest|token|negotiate|ntlm|sso-key)\s+)?[^{_VALUE_END}]+",
        r"(?P<keep>(?<![\w-])(?:set-)?cookie[\"']?\s*:\s*[\"']?)[^\"'\r\n]+",
        rf"(?P<keep>\bbearer\s+)[^{_VALUE_END}]+",
        # URL user info: greedy up to the last '@' before the host (a password may hold '@').
        r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/?#@\[\]]*:)\S*(?=@[^@\s/?#]*(?:[/?#\s\"'>)\]]|$))",
        # Signed URLs and assignments: ?token=, &X-Amz-Signature=, access_token=, &key=
        rf"(?P<keep>(?<![\w.-])[\w.-]*?{_PARAM_NAME}=)[^{_VALUE_END}]+",
        rf"(?P<keep>[?&;]key=)[^{_VALUE_END}]+",
        # "token": "x" and 'api_key': 'x' (JSON, Python reprs of dicts)
        rf"(?P<keep>\"[\w.-]*{_SECRET_KEY.pattern}[\w.-]*\"\s*:\s*\")[^\"]*",
        rf"(?P<keep>'[\w.-]*{_SECRET_KEY.pattern}[\w.-]*'\s*:\s*')[^']*",
        # Known shapes: LaunchDarkly keys, operator tokens, JWTs, GitHub, Slack, AWS key ids.
        r"(?P<keep>)\b(?:api|sdk|mob)-[0-9a-f]{8}-[0-9a-f-]{27,}",
        r"(?P<keep>)\borch_[A-Za-z0-9_-]{16,}",
        r"(?P<keep>)\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        r"(?P<keep>)\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})",
        r"(?P<keep>)\bxox[abposr]-[A-Za-z0-9-]{10,}",
        r"(?P<keep>)\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        # Slack webhook URLs: the path after the kind is the credential.
        rf"(?P<keep>\bhooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/)[^{_VALUE_END}]+",
        rf"(?P<keep>/services/T[A-Z0-9]{{2,}}/B[A-Z0-9]{{2,}}/)[^{_VALUE_END}]+",  # a proxy's
    )
)
_REPLACEMENT = r"\g<keep>" + REDACTED
# Text in which none of the shapes above can occur: each needs ':', '=' or '/' (headers,
# assignments, URLs, JSON keys), the word bearer, or one of the known tokens' prefixes.
_MAYBE_SECRET = re.compile(
    r"[:=/]|bearer|(?:api|sdk|mob)-|orch_|eyj|gh[pousr]_|github_pat_|xox|akia|asia", re.IGNORECASE
)
_CACHED_TEXT = 4096
"""Texts longer than this are masked every time (the cache is for the short, repeated ones:
names, summaries, targets)."""


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


@lru_cache(maxsize=2048)
def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str, *known: Secret | str) -> str:
    """``text`` with every credential masked: the shapes of the module docstring, and each of
    ``known`` (the caller's own secrets, whatever their shape) wherever it appears."""
    for secret in known:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if value:
            text = text.replace(value, REDACTED)
    if len(text) > _CACHED_TEXT:
        return mask_shapes(text)
    return _mask_shapes_cached(text)


def mask_shapes(text: str) -> str:
    """Every shape of the module docstring masked (no pre-check, no cache: the reference)."""
    for pattern in _PATTERNS:
        text = pattern.sub(_REPLACEMENT, text)
    return text


@lru_cache(maxsize=8192)
def _mask_shapes_cached(text: str) -> str:
    # a pure function of the text: audit data repeats the same short strings many times
    return mask_shapes(text) if _MAYBE_SECRET.search(text) else text


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
