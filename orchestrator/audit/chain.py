"""The hash chain that makes the audit history tamper-evident.

Every stored event carries ``prev_hash`` (the hash of the event before it; 64 zeros for the first)
and ``hash = sha256(prev_hash + canonical_json(fields))`` where ``fields`` are the event's content
and place: event_key, incident_id, run_id, kind, at, actor, service, slo, summary, data, seq and
recorded_at. Altering, removing or reordering any stored event breaks the chain from there on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from orchestrator.audit.model import (
    AuditEvent,
    ChainReport,
    StoredEvent,
    canonical_json,
    iso_utc,
)

GENESIS_HASH = "0" * 64

__all__ = [
    "GENESIS_HASH",
    "ChainVerifier",
    "canonical_json",
    "event_hash",
    "hash_fields",
    "seal",
    "verify",
]


def hash_fields(event: AuditEvent, seq: int, recorded_at: datetime) -> dict[str, Any]:
    """The fields the hash covers, in JSON form. An explicit list: the hash must never change
    because a model grew a field."""
    return {
        "event_key": event.event_key,
        "incident_id": event.incident_id,
        "run_id": event.run_id,
        "kind": event.kind.value,
        "at": iso_utc(event.at),
        "actor": event.actor,
        "service": event.service,
        "slo": event.slo,
        "summary": event.summary,
        "data": event.data,
        "seq": seq,
        "recorded_at": iso_utc(recorded_at),
    }


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode()).hexdigest()


def seal(event: AuditEvent, *, seq: int, prev_hash: str, recorded_at: datetime) -> StoredEvent:
    """``event`` placed at ``seq`` after ``prev_hash``: the row a store inserts."""
    digest = event_hash(prev_hash, hash_fields(event, seq, recorded_at))
    return StoredEvent.model_validate(
        {
            **event.model_dump(include=set(AuditEvent.model_fields)),
            "seq": seq,
            "recorded_at": recorded_at,
            "prev_hash": prev_hash,
            "hash": digest,
        }
    )


class ChainVerifier:
    """Checks events fed in seq order, one at a time, so a store can verify page by page."""

    def __init__(self, *, after_seq: int = 0, after_hash: str = GENESIS_HASH) -> None:
        """Start at genesis, or after ``after_seq`` whose hash is ``after_hash`` (a slice)."""
        self._checked = after_seq
        self._head = after_hash
        self._bad_seq: int | None = None
        self._problem: str | None = None

    @property
    def failed(self) -> bool:
        return self._bad_seq is not None

    def fail(self, seq: int, problem: str) -> ChainReport:
        """Record that the event at ``seq`` cannot be checked (e.g. its row does not parse)."""
        if self._bad_seq is None:
            self._bad_seq, self._problem = seq, problem
        return self.report()

    def feed(self, event: StoredEvent) -> bool:
        """Check the next event; False (and the failure recorded) once the chain is broken."""
        if self.failed:
            return False
        expected = self._checked + 1
        if event.seq != expected:
            self.fail(
                event.seq,
                f"expected seq {expected}, found {event.seq}: events are missing or reordered",
            )
            return False
        if event.prev_hash != self._head:
            self.fail(event.seq, f"prev_hash does not match the hash of seq {expected - 1}")
            return False
        digest = event_hash(event.prev_hash, hash_fields(event, event.seq, event.recorded_at))
        if digest != event.hash:
            self.fail(event.seq, "hash does not match the event's content: it was altered")
            return False
        self._checked += 1
        self._head = event.hash
        return True

    def feed_hashed(self, seq: int, prev_hash: str, digest: str, text: str) -> bool:
        """Check the next event given as ``text`` (its ``canonical_json(hash_fields(...))``):
        True and advanced when it verifies; False, nothing recorded, when it does not (the
        caller then feeds the event itself, which records why)."""
        if self.failed or seq != self._checked + 1 or prev_hash != self._head:
            return False
        if hashlib.sha256((prev_hash + text).encode()).hexdigest() != digest:
            return False
        self._checked = seq
        self._head = digest
        return True

    def report(self) -> ChainReport:
        if self._bad_seq is not None:
            return ChainReport(
                ok=False,
                checked=self._checked,
                first_bad_seq=self._bad_seq,
                problem=self._problem,
                head_hash=self._head if self._checked else None,
            )
        return ChainReport(
            ok=True, checked=self._checked, head_hash=self._head if self._checked else None
        )


def verify(events: Iterable[StoredEvent]) -> ChainReport:
    """Verify a whole chain, given from seq 1 in seq order."""
    verifier = ChainVerifier()
    for event in events:
        if not verifier.feed(event):
            break
    return verifier.report()
