"""Audit exports: events as hashed, digests and a signed trailer, checked without the store.

One canonical JSON object a line. ``record: event`` lines hold exactly the fields the chain hashes
plus ``prev_hash`` and ``hash``; ``record: digest`` lines are the signed digests
(:mod:`~orchestrator.audit.digests`); the last line, ``record: trailer``, names the store's chain
head at export time, the counts, the time range, the SHA-256 of every line before it and a
signature over all of that (HMAC-SHA256 or Ed25519: the key id and public key, never a secret).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrator.audit.chain import GENESIS_HASH, ChainVerifier, event_hash, hash_fields
from orchestrator.audit.digests import Digest, check_digests, staleness
from orchestrator.audit.model import StoredEvent, canonical_json, iso_utc
from orchestrator.audit.signing import Signer

FORMAT = "orchestrator-audit-export/1"


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


class ExportError(ValueError):
    """The file is not an export at all (one line saying why)."""


def parse_export(text: str) -> tuple[list[dict[str, Any]], list[Digest], dict[str, Any], list[str]]:
    """(event records, digests, trailer, body lines); ExportError when it is not an export."""
    lines = [line for line in text.split("\n") if line]
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise ExportError(f"line {number} is not JSON: not an audit export") from None
        if not isinstance(record, dict) or "record" not in record:
            raise ExportError(f"line {number} is not an export record: not an audit export")
        records.append(record)
    if not records or records[-1].get("record") != "trailer":
        raise ExportError("no trailer at the end: not an audit export, or it was cut short")
    events = [r for r in records[:-1] if r["record"] == "event"]
    try:
        digests = [
            Digest.model_validate({k: v for k, v in r.items() if k != "record"})
            for r in records[:-1]
            if r["record"] == "digest"
        ]
    except ValueError as exc:
        raise ExportError(f"a digest record does not parse: {exc}") from None
    return events, digests, records[-1], lines[:-1]


def verify_export(text: str, signer: Signer) -> list[str]:
    """Every problem found in an export, one line each; [] when it verifies."""
    events, digests, trailer, body_lines = parse_export(text)
    if trailer.get("key_id") != signer.key_id:
        return [
            f"the export was signed with key {trailer.get('key_id')!r},"
            f" not with this key ({signer.key_id}): wrong key or forged"
        ]
    signature = str(trailer.get("sig", ""))
    if not signer.valid({k: v for k, v in trailer.items() if k != "sig"}, signature):
        return ["the trailer's signature does not verify: the trailer was forged or altered"]
    problems: list[str] = []
    if content_hash(body_lines) != trailer.get("content_sha256"):
        problems.append(
            "the lines before the trailer are not the ones signed: the export was altered"
        )
    problems += _check_events(events, trailer)
    hash_at = {int(e["seq"]): str(e["hash"]) for e in events if isinstance(e.get("seq"), int)}
    filters = trailer.get("filters") or {}
    first = int(trailer.get("first_seq") or 1)
    selection = filters.get("incident") or not events  # digest heads need not be in the file
    complete_from = int(trailer["head_seq"]) + 1 if selection else first
    problems += check_digests(
        digests, signer, hash_at, int(trailer["head_seq"]), complete_from=complete_from
    )
    stale = staleness(
        digests,
        datetime.fromisoformat(trailer["exported_at"]),
        float(trailer["digest_interval_s"]),
        int(trailer["head_seq"]),
    )
    return problems + ([stale] if stale else [])


def _check_events(events: list[dict[str, Any]], trailer: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    filters = trailer.get("filters") or {}
    contiguous = not filters.get("incident")
    verifier = ChainVerifier()
    last_seq = 0
    for number, record in enumerate(events, 1):
        try:
            event = StoredEvent.model_validate({k: v for k, v in record.items() if k != "record"})
        except ValueError:
            problems.append(f"event record {number} does not parse: it was altered")
            continue
        if contiguous:
            if number == 1 and event.seq > 1:
                verifier = ChainVerifier(after_seq=event.seq - 1, after_hash=event.prev_hash)
            if not verifier.feed(event):
                report = verifier.report()
                problems.append(f"seq {report.first_bad_seq}: {report.problem}")
                return problems
        elif event.seq <= last_seq:
            problems.append(f"seq {event.seq} follows seq {last_seq}: events were reordered")
        elif event.hash != _rehash(event):
            problems.append(
                f"seq {event.seq}: hash does not match the event's content: it was altered"
            )
        last_seq = event.seq
    if len(events) != trailer.get("events"):
        problems.append(f"{len(events)} events, the trailer says {trailer.get('events')}")
    if (
        contiguous
        and events
        and (last_seq, events[-1]["hash"]) != (trailer["head_seq"], trailer["head_hash"])
    ):
        problems.append(
            f"the export ends at seq {last_seq}, the signed head is seq {trailer['head_seq']}:"
            " events were cut off"
        )
    return problems


def _rehash(event: StoredEvent) -> str:
    return event_hash(event.prev_hash, hash_fields(event, event.seq, event.recorded_at))
