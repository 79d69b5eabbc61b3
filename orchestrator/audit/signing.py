"""Signing audit digests and exports: HMAC-SHA256 under a shared secret, or Ed25519.

With HMAC whoever can check can also sign, so the key must stay with the party to be convinced.
With Ed25519 (the ``cryptography`` package) the orchestrator signs with a private key file and
anyone checks with the public key alone; the public key goes into every digest and trailer. Either
way ``key_id`` names the key (16 hex digits of a SHA-256) without revealing a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from orchestrator.audit.model import canonical_json
from orchestrator.errors import AuditError
from orchestrator.secrets import Secret


class Signer(Protocol):
    alg: str
    key_id: str
    public_key: str | None

    def sign(self, body: dict[str, Any]) -> str: ...

    def valid(self, body: dict[str, Any], signature: str) -> bool: ...


class HmacSigner:
    """HMAC-SHA256 under a secret key."""

    alg = "hmac-sha256"
    public_key: str | None = None

    def __init__(self, key: Secret) -> None:
        if not key:
            raise AuditError("the audit signing key is empty")
        self._key = key
        seed = b"orchestrator-audit-key:" + key.reveal().encode()
        self.key_id = hashlib.sha256(seed).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"HmacSigner(key_id={self.key_id!r})"

    def sign(self, body: dict[str, Any]) -> str:
        text = canonical_json(body).encode()
        return hmac.new(self._key.reveal().encode(), text, hashlib.sha256).hexdigest()

    def valid(self, body: dict[str, Any], signature: str) -> bool:
        return hmac.compare_digest(self.sign(body), signature)


class Ed25519Signer:
    """Ed25519: signs with the private key when it has one, checks with the public key."""

    alg = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None) -> None:
        self._public, self._private = public, private
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key: str | None = base64.b64encode(raw).decode()
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self.key_id!r})"

    @classmethod
    def from_pem(cls, path: Path) -> Ed25519Signer:
        """A private key (signs and checks) or a public key (checks only) from a PEM file."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AuditError(f"cannot read the key file {path}: {exc.strerror or exc}") from None
        try:
            if b"PRIVATE KEY" in data:
                private = serialization.load_pem_private_key(data, password=None)
                if isinstance(private, Ed25519PrivateKey):
                    return cls(private.public_key(), private)
            else:
                public = serialization.load_pem_public_key(data)
                if isinstance(public, Ed25519PublicKey):
                    return cls(public)
        except (ValueError, TypeError):
            pass
        raise AuditError(f"{path} is not an unencrypted Ed25519 key in PEM form")

    def sign(self, body: dict[str, Any]) -> str:
        if self._private is None:
            raise AuditError("an Ed25519 public key checks signatures; it cannot sign")
        return self._private.sign(canonical_json(body).encode()).hex()

    def valid(self, body: dict[str, Any], signature: str) -> bool:
        try:
            self._public.verify(bytes.fromhex(signature), canonical_json(body).encode())
        except (InvalidSignature, ValueError):
            return False
        return True


def signer_for(key: Secret | None, ed25519_file: Path | None) -> Signer | None:
    """The configured signer: the Ed25519 key file when set, else the HMAC key, else None."""
    if ed25519_file is not None:
        return Ed25519Signer.from_pem(ed25519_file)
    return HmacSigner(key) if key else None
