"""Webhook signatures: one scheme for what we verify (ingest) and what we sign (outgoing webhook).

Grafana's scheme: the lower-case hex HMAC-SHA256, keyed with the shared secret, of
``"<unix seconds>:" + body`` (the exact body bytes), in a signature header (a ``sha256=`` prefix is
accepted), the time in a timestamp header. A timestamp more than the window away from the clock
(either way) is refused. Comparisons are constant time and every configured secret is compared,
so timing tells nothing; messages say which check failed, never what was sent or expected.

Pure functions over bytes (no I/O): the ingest edge (:mod:`orchestrator.ingest.auth`) maps a
:class:`SignatureError` to its 401, the outgoing webhook
(:mod:`orchestrator.providers.signed_webhook`) signs with :func:`signed_headers`, and a receiver
(the local one of the tests, or anyone's in Python) verifies with :func:`check_timestamp` and
:func:`verify`.
"""

from __future__ import annotations

import hashlib
import hmac

from orchestrator.secrets import Secret

DEFAULT_WINDOW_SECONDS = 300


class SignatureError(ValueError):
    """A signature or its timestamp failed a check; the message names the check only."""


def signature(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The hex signature a sender puts in the signature header (what Grafana computes)."""
    signed = body if timestamp is None else timestamp.encode("ascii") + b":" + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def check_timestamp(value: str, *, name: str, window: int, now: float) -> str:
    """``value`` (Unix seconds) when it is within ``window`` seconds of ``now``, either way."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise SignatureError(f"{name} is not a Unix time in seconds")
    if now - int(value) > window:
        raise SignatureError(
            f"{name} is outside the accepted window of {window} seconds: too old"
            " (a stale or replayed request, or clocks out of sync)"
        )
    if int(value) - now > window:
        raise SignatureError(
            f"{name} is outside the accepted window of {window} seconds: in the future"
            " (clocks out of sync)"
        )
    return value


def verify(
    given: str, body: bytes, secrets: tuple[Secret, ...], timestamp: str | None, *, name: str
) -> str:
    """The verified signature (lower-case hex, no prefix) when ``given`` is the HMAC of ``body``
    (and ``timestamp``) under one of ``secrets``; else :class:`SignatureError` naming the
    header ``name``. Every secret is compared, whatever the outcome."""
    given_hex = given.strip().lower().removeprefix("sha256=").encode("latin-1")
    matched = False
    for secret in secrets:
        expected = signature(secret.reveal(), body, timestamp).encode("ascii")
        matched |= hmac.compare_digest(given_hex, expected)
    if not matched:
        raise SignatureError(f"{name} does not match the request body")
    return given_hex.decode("ascii")


def signed_headers(
    secret: Secret, body: bytes, now: float, *, signature_header: str, timestamp_header: str
) -> dict[str, str]:
    """The two headers a sender adds to ``body`` at time ``now``."""
    stamp = str(int(now))
    return {
        timestamp_header: stamp,
        signature_header: "sha256=" + signature(secret.reveal(), body, stamp),
    }
