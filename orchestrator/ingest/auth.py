"""Who may post: a bearer token per source, and an HMAC-SHA256 over the raw body where senders sign.

Grafana's scheme (:mod:`orchestrator.domain.signatures`, shared with the outgoing webhook): the
hex HMAC-SHA256, keyed with the shared secret, of ``"<unix seconds>:" + body``, in the signature
header (``X-Grafana-Alerting-Signature``), the time in the timestamp header. A timestamp more than
the window away from the clock (either way) is refused, and a verified signature is accepted
once: the :class:`SeenSignatureCache` remembers it. A signature over the body alone is refused
unless the source opted in (``hmac_untimestamped``). Every comparison is constant time
(:func:`hmac.compare_digest`) and every configured token and secret is compared, so timing tells
nothing. Messages say which check failed, never what was sent or expected.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any, Protocol

from starlette.datastructures import Headers

from orchestrator.config.ingest import PREFIX, SIGNAL_SOURCES, IngestSettings, SourceAuth
from orchestrator.domain.signatures import SignatureError, check_timestamp, verify
from orchestrator.ingest.limits import RejectionError
from orchestrator.secrets import Secret


class SeenSignatureCache(Protocol):
    """Verified signatures, remembered for the replay window by every API replica
    (:class:`orchestrator.audit.seen.SeenSignatures`). Failures raise AuditError."""

    async def first_use(self, source: str, signature_hex: str, now: datetime) -> bool:
        """Record the signature; False if it was already recorded (a replay)."""
        ...

    async def release(self, source: str, signature_hex: str) -> None:
        """Forget it again (the delivery failed on our side, so the sender's retry is welcome)."""
        ...


def unauthorized(message: str) -> RejectionError:
    return RejectionError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _matches_any(given: bytes, secrets: tuple[Secret, ...]) -> bool:
    matched = False
    for secret in secrets:
        # No short cut: every configured value is compared whatever the outcome.
        matched |= hmac.compare_digest(given, secret.reveal().encode("utf-8"))
    return matched


def check_bearer(headers: Headers, auth: SourceAuth) -> None:
    """Refuse unless ``Authorization: Bearer <token>`` carries one of the source's tokens."""
    if not auth.tokens:
        return
    header = headers.get("authorization")
    if header is None:
        raise unauthorized("missing Authorization header (expected a bearer token)")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization header is not a bearer token")
    if not _matches_any(token.strip().encode("latin-1"), auth.tokens):
        raise unauthorized("invalid bearer token")


def _timestamp(headers: Headers, auth: SourceAuth, window: int, now: float) -> str | None:
    name = auth.timestamp_header
    value = headers.get(name) if name else None
    if value is None or not value.strip():
        if auth.hmac_untimestamped:
            return None  # the source opted in to signatures over the body alone
        raise unauthorized(f"missing {name or 'timestamp'} header (signatures must be timestamped)")
    try:
        return check_timestamp(value, name=name, window=window, now=now)
    except SignatureError as exc:
        raise unauthorized(str(exc)) from None


def check_signature(
    headers: Headers, body: bytes, auth: SourceAuth, *, window: int, now: float
) -> str | None:
    """Refuse unless the signature header holds the HMAC of exactly these bytes (and timestamp).

    Returns the verified signature (lower-case hex) for the replay check, or None if the source
    does not sign. The timestamp window is checked before the HMAC.
    """
    if not auth.hmac_secrets:
        return None
    given = headers.get(auth.signature_header)
    if given is None or not given.strip():
        raise unauthorized(f"missing {auth.signature_header} header")
    timestamp = _timestamp(headers, auth, window, now)
    try:
        return verify(given, body, auth.hmac_secrets, timestamp, name=auth.signature_header)
    except SignatureError as exc:
        raise unauthorized(str(exc)) from None


async def check_replay(
    cache: SeenSignatureCache, source: str, signature_hex: str, now: datetime
) -> None:
    """Refuse a verified signature seen before (AuditError if the cache cannot be asked)."""
    if not await cache.first_use(source, signature_hex, now):
        raise unauthorized(f"signature already used (replay); sign each {source} delivery anew")


def warn_weak_sources(settings: IngestSettings, log: Any) -> list[str]:
    """Warn, once at start, of each source that accepts signatures without a timestamp."""
    weak = [s for s in SIGNAL_SOURCES if settings.auth_for(s).accepts_untimestamped]
    for source in weak:
        log.warning(
            "untimestamped webhook signatures accepted",
            source=source,
            setting=f"{PREFIX}{source.upper()}_HMAC_UNTIMESTAMPED",
            risk="once a signature is forgotten (twice the timestamp window),"
            " its replay cannot be told from a new delivery",
        )
    return weak


def check_configured(source: str, auth: SourceAuth, allow_unauthenticated: bool) -> None:
    if not auth.configured and not allow_unauthenticated:
        raise unauthorized(
            f"no token or signing secret is configured for {source} posts, so none are accepted"
        )
