"""Audit exports: events as hashed, digests and a signed trailer, checked without the store.

One canonical JSON object a line. ``record: event`` lines hold exactly the fields the chain hashes
plus ``prev_hash`` and ``hash``; ``record: digest`` lines are the signed digests
(:mod:`~orchestrator.audit.digests`); the last line, ``record: trailer``, names the store's chain
head at export time, the counts, the time range, the SHA-256 of every line before it and a
signature over all of that (HMAC-SHA256 or Ed25519: the key id and public key, never a secret).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.audit.chain import GENESIS_HASH, hash_fields
from orchestrator.audit.digests import Digest
from orchestrator.audit.export_check import ExportError, parse_export, verify_export
from orchestrator.audit.model import StoredEvent, canonical_json, iso_utc
from orchestrator.audit.signing import Signer

FORMAT = "orchestrator-audit-export/1"
__all__ = [
    "FORMAT",
    "ExportError",
    "ExportTally",
    "content_hash",
    "digest_line",
    "event_line",
    "parse_export",
    "trailer_line",
    "verify_export",
]


def event_line(event: StoredEvent) -> str:
    fields = hash_fields(event, event.seq, event.recorded_at)
    return canonical_json(
        {"record": "event", **fields, "prev_hash": event.prev_hash, "hash": event.hash}
    )


def digest_line(digest: Digest) -> str:
    return canonical_json({"record": "digest", **digest.body(), "sig": digest.sig})


@dataclass
class ExportTally:
    """What the trailer says about the lines before it, gathered while they are written."""

    events: int = 0
    digests: int = 0
    first: tuple[int, str] | None = None
    """(seq, at as ISO-8601 UTC) of the first event written."""
    last: tuple[int, str] | None = None
    content: Any = field(default_factory=hashlib.sha256)
    """SHA-256 of every line so far, each with its newline."""

    def line(self, text: str) -> str:
        """Count ``text`` (one line, no newline) into the content hash; it, with its newline."""
        out = text + "\n"
        self.content.update(out.encode())
        return out

    def event(self, seq: int, at: str) -> None:
        self.events += 1
        self.first = self.first or (seq, at)
        self.last = (seq, at)


def trailer_line(
    signer: Signer,
    tally: ExportTally,
    *,
    head: tuple[int, str] | None,
    exported_at: datetime,
    interval: float,
    filters: dict[str, str | None],
) -> str:
    body: dict[str, Any] = {
        "record": "trailer",
        "format": FORMAT,
        "exported_at": iso_utc(exported_at),
        "filters": filters,
        "events": tally.events,
        "digests": tally.digests,
        "first_seq": tally.first[0] if tally.first else None,
        "last_seq": tally.last[0] if tally.last else None,
        "first_at": tally.first[1] if tally.first else None,
        "last_at": tally.last[1] if tally.last else None,
        "head_seq": head[0] if head else 0,
        "head_hash": head[1] if head else GENESIS_HASH,
        "content_sha256": tally.content.hexdigest(),
        "digest_interval_s": interval,
        "alg": signer.alg,
        "key_id": signer.key_id,
        "public_key": signer.public_key,
    }
    return canonical_json({**body, "sig": signer.sign(body)})


def content_hash(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()
