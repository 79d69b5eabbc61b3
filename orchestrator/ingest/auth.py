"""Who may post: a bearer token per source, and an HMAC-SHA256 over the raw body where senders sign.

Grafana's scheme: the hex HMAC-SHA256 of the raw body, keyed with the shared secret, in
``X-Grafana-Alerting-Signature``; when a timestamp header is configured the signed bytes are
``"<unix seconds>:" + body`` and the timestamp travels in that header. Every comparison is constant
time (:func:`hmac.compare_digest`) and every configured token is compared, so timing tells nothing.
Messages say which check failed, never what was sent or expected.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.datastructures import Headers

from orchestrator.config.ingest import SourceAuth
from orchestrator.ingest.limits import RejectionError
from orchestrator.secrets import Secret


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


def signature(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The hex signature a sender puts in the signature header (what Grafana computes)."""
    signed = body if timestamp is None else timestamp.encode("ascii") + b":" + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def _timestamp(headers: Headers, auth: SourceAuth, window: int, now: float) -> str | None:
    if not auth.timestamp_header:
        return None
    value = headers.get(auth.timestamp_header)
    if value is None or not value.strip():
        raise unauthorized(f"missing {auth.timestamp_header} header")
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise unauthorized(f"{auth.timestamp_header} is not a Unix time in seconds")
    if abs(now - int(value)) > window:
        raise unauthorized(
            f"{auth.timestamp_header} is outside the accepted window of {window} seconds"
            " (stale or replayed request, or clocks out of sync)"
        )
    return value


def check_signature(
    headers: Headers, body: bytes, auth: SourceAuth, *, window: int, now: float
) -> None:
    """Refuse unless the signature header holds the HMAC of exactly these bytes (and timestamp)."""
    if not auth.hmac_secrets:
        return
    given = headers.get(auth.signature_header)
    if given is None or not given.strip():
        raise unauthorized(f"missing {auth.signature_header} header")
    timestamp = _timestamp(headers, auth, window, now)
    given_hex = given.strip().lower().removeprefix("sha256=").encode("latin-1")
    matched = False
    for secret in auth.hmac_secrets:
        expected = signature(secret.reveal(), body, timestamp).encode("ascii")
        matched |= hmac.compare_digest(given_hex, expected)
    if not matched:
        raise unauthorized(f"{auth.signature_header} does not match the request body")


def check_configured(source: str, auth: SourceAuth, allow_unauthenticated: bool) -> None:
    if not auth.configured and not allow_unauthenticated:
        raise unauthorized(
            f"no token or signing secret is configured for {source} posts, so none are accepted"
        )
