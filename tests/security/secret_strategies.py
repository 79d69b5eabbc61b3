"""Random credentials for the no-secret tests: high-entropy strings of several alphabets.

Each secret is drawn as random bytes (at least 8 distinct values) and written in one of the
alphabets real credentials use (hex, base64 and base64url, base32, alphanumerics, and one with
the punctuation some generators add), 12 to 64 characters long. Drawn as bytes, never as text:
Hypothesis likes to try strings it finds in the code (``verification_passed``), and those are in
every output by right. No alphabet holds whitespace, quotes, commas or '&', which end a value in
the text shapes :func:`orchestrator.secrets.redact_text` knows.
"""

from __future__ import annotations

import base64
import string
from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import strategies as st

ALNUM = string.ascii_letters + string.digits
PUNCTUATED = ALNUM + "-._~!$*^@:"
SDK_SAFE = ("hex", "base64url", "base32", "alnum")
"""Alphabets the LaunchDarkly SDK accepts in a key (it discards others: [a-zA-Z0-9._-] only)."""
ENCODINGS = (*SDK_SAFE, "base64", "punctuated")
MIN_LENGTH = 12


def _spelled(raw: bytes, alphabet: str) -> str:
    return "".join(alphabet[b % len(alphabet)] for b in raw)


def _encode(raw: bytes, encoding: str) -> str:
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if encoding == "base32":
        return base64.b32encode(raw).decode().rstrip("=")
    return _spelled(raw, ALNUM if encoding == "alnum" else PUNCTUATED)


def secret(encodings: tuple[str, ...] = ENCODINGS) -> st.SearchStrategy[str]:
    """One high-entropy credential."""
    raw = st.binary(min_size=MIN_LENGTH, max_size=40).filter(lambda b: len(set(b)) >= 8)
    return st.builds(_encode, raw, st.sampled_from(encodings)).map(lambda s: s[:64])


def distinct(values: list[str]) -> bool:
    """No credential is a part of another (a leak of one is then told from the other)."""
    return len(set(values)) == len(values) and not any(
        a != b and a in b for a in values for b in values
    )


@dataclass(frozen=True)
class Credentials:
    """What one example hides; :meth:`forms` is every way each may be written."""

    values: tuple[str, ...]

    def forms(self) -> set[str]:
        """Each secret as it is and URL-encoded."""
        return {form for value in self.values for form in (value, quote(value, safe=""))}

    def leaks(self, text: str) -> list[str]:
        return sorted(form for form in self.forms() if form in text)


def signed_url(signature: str, credential: str, token: str) -> str:
    """An object-store download link of the kind providers put in error bodies."""
    return (
        "https://storage.example.com/exports/flags.json?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={quote(credential, safe='')}%2F20260101%2Fus-east-1%2Fs3"
        f"&X-Amz-Date=20260101T000000Z&X-Amz-Signature={quote(signature, safe='')}"
        f"&access_token={quote(token, safe='')}"
    )
