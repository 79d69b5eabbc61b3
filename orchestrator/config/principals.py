"""The operator tokens file: token hashes mapped to named principals with roles.

``ORCHESTRATOR_TOKENS_FILE`` names a YAML file like::

    tokens:
      "sha256:5e88489...":  {name: maria.oncall, roles: [approver]}
      "sha256:9f86d08...":  {name: sre-bot, roles: [viewer]}

Only hashes are stored, so the file is not itself a secret worth stealing; ``orchestrator token
create`` makes a token, prints it once and adds its hash. A person may hold several tokens (to
rotate one), each giving the same roles. :meth:`Principals.authenticate` compares the hash of the
presented token with every entry in constant time, so timing tells nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
import yaml

from orchestrator.domain.principals import Principal
from orchestrator.errors import ConfigError

TOKEN_PREFIX = "orch_"  # noqa: S105 - a prefix, not a secret
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_TOKENS = 10_000


def token_hash(token: str) -> str:
    """The entry key of ``token`` in the tokens file: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh operator token (256 random bits), recognisable by its prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principals:
    """Every principal the operator API knows, by the hashes of their tokens."""

    entries: tuple[tuple[bytes, Principal], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    def pairs(self) -> list[tuple[str, Principal]]:
        """``(token_hash, principal)`` pairs, as the file lists them."""
        return [("sha256:" + digest.hex(), principal) for digest, principal in self.entries]

    @property
    def names(self) -> list[str]:
        return sorted({p.name for _, p in self.entries})

    def authenticate(self, token: str) -> Principal | None:
        """The principal holding ``token``, or None. Every entry is compared, whatever matches."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for stored, principal in self.entries:
            if hmac.compare_digest(digest, stored):
                found = principal
        return found

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, Principal]], origin: str = "tokens file") -> Principals:
        """From ``(token_hash, principal)`` pairs (hashes as :func:`token_hash` writes them);
        ConfigError naming ``origin`` for a malformed or repeated hash, or a person whose tokens
        give different roles."""
        entries: list[tuple[bytes, Principal]] = []
        seen: set[str] = set()
        roles: dict[str, Principal] = {}
        for key, principal in pairs:
            if not _HASH.fullmatch(key):
                raise ConfigError(f"{origin}: {key[:20]!r}… is not sha256:<64 hex digits>")
            if key in seen:
                raise ConfigError(f"{origin}: the hash {key[:19]}… is listed twice")
            if roles.setdefault(principal.name, principal).roles != principal.roles:
                raise ConfigError(f"{origin}: {principal.name} has different roles on two tokens")
            seen.add(key)
            entries.append((bytes.fromhex(key.removeprefix("sha256:")), principal))
        return cls(tuple(entries))

    @classmethod
    def from_yaml(cls, text: str, origin: str) -> Principals:
        """Parse a tokens file; ConfigError (one line, naming ``origin``) for anything wrong."""
        try:
            document: Any = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{origin}: not YAML ({type(exc).__name__})") from None
        tokens = document.get("tokens") if isinstance(document, dict) else None
        if not isinstance(tokens, Mapping) or set(document) - {"tokens"}:
            raise ConfigError(f"{origin}: expected one key, tokens: a map of hash -> name, roles")
        if len(tokens) > MAX_TOKENS:
            raise ConfigError(f"{origin}: more than {MAX_TOKENS} tokens")
        pairs: list[tuple[str, Principal]] = []
        for key, entry in tokens.items():
            try:
                pairs.append((str(key), Principal.model_validate(entry)))
            except pydantic.ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "entry"
                raise ConfigError(
                    f"{origin}: token {str(key)[:19]}…: {where}: {first['msg']}"
                ) from None
        return cls.of(pairs, origin)


def tokens_document(principals: Iterable[tuple[str, Principal]]) -> str:
    """A tokens file holding ``(hash, principal)`` pairs, as :meth:`Principals.from_yaml` reads."""
    tokens = {
        key: {"name": p.name, "roles": sorted(r.label for r in p.roles)} for key, p in principals
    }
    return yaml.safe_dump({"tokens": tokens}, sort_keys=True)
