"""Checking an export without the store, reading it as a stream of lines (twice: first the digests
and the trailer, then the events), so a file of any size is checked in bounded memory. The format
is :mod:`~orchestrator.audit.export`; the problems named are the ones it always named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.audit.chain import ChainVerifier, event_hash, hash_fields
from orchestrator.audit.digests import Digest, check_digests, staleness
from orchestrator.audit.model import StoredEvent
from orchestrator.audit.signing import Signer

Lines = Callable[[], Iterable[str]]
"""Each call reads the export's lines afresh (with or without their newlines)."""


class ExportError(ValueError):
    """The file is not an export at all (one line saying why)."""


def _records(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(line, record) of every non-empty line; ExportError at the first that is not a record."""
    number = 0
    for raw in lines:
        line = raw[:-1] if raw.endswith("\n") else raw
        if not line:
            continue
        number += 1
        try:
            record = json.loads(line)
        except ValueError:
            raise ExportError(f"line {number} is not JSON: not an audit export") from None
        if not isinstance(record, dict) or "record" not in record:
            raise ExportError(f"line {number} is not an export record: not an audit export")
        yield line, record


def _with_last(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any], bool]]:
    """(line, record, is it the last) of every record."""
    held: tuple[str, dict[str, Any]] | None = None
    for item in _records(lines):
        if held is not None:
            yield (*held, False)
        held = item
    if held is not None:
        yield (*held, True)


def _digest(record: dict[str, Any]) -> Digest:
    try:
        return Digest.model_validate({k: v for k, v in record.items() if k != "record"})
    except ValueError as exc:
        raise ExportError(f"a digest record does not parse: {exc}") from None


def export_outline(lines: Lines) -> tuple[list[Digest], dict[str, Any], int]:
    """(digests, trailer, number of event records); ExportError when it is not an export."""
    digests: list[dict[str, Any]] = []
    trailer: dict[str, Any] | None = None
    events = 0
    for _line, record, last in _with_last(lines()):
        if last:
            trailer = record
        elif record["record"] == "event":
            events += 1
        elif record["record"] == "digest":
            digests.append(record)
    if trailer is None or trailer.get("record") != "trailer":
        raise ExportError("no trailer at the end: not an audit export, or it was cut short")
    return [_digest(d) for d in digests], trailer, events


def event_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The event records of an export (one whose outline was read), in file order."""
    for _line, record, last in _with_last(lines):
        if not last and record["record"] == "event":
            yield record


def parse_export(text: str) -> tuple[list[dict[str, Any]], list[Digest], dict[str, Any], list[str]]:
    """(event records, digests, trailer, body lines) of an export held in memory."""
    digests, trailer, _events = export_outline(lambda: text.split("\n"))
    body = [(line, r) for line, r, last in _with_last(text.split("\n")) if not last]
    return [r for _, r in body if r["record"] == "event"], digests, trailer, [x for x, _ in body]


def verify_export(text: str, signer: Signer) -> list[str]:
    """Every problem found in an export, one line each; [] when it verifies."""
    return verify_export_lines(lambda: text.split("\n"), signer)


def verify_export_file(path: Path, signer: Signer) -> list[str]:
    """:func:`verify_export` of a file, read as a stream (OSError, UnicodeDecodeError as
    reading raises them)."""

    return verify_export_lines(lambda: file_lines(path), signer)


def file_lines(path: Path) -> Iterator[str]:
    """The lines of an export file, read as a stream (universal newlines, as read_text)."""
    with path.open(encoding="utf-8") as file:
        yield from file


def verify_export_lines(lines: Lines, signer: Signer) -> list[str]:
    digests, trailer, events = export_outline(lines)
    if trailer.get("key_id") != signer.key_id:
        return [
            f"the export was signed with key {trailer.get('key_id')!r},"
            f" not with this key ({signer.key_id}): wrong key or forged"
        ]
    signature = str(trailer.get("sig", ""))
    if not signer.valid({k: v for k, v in trailer.items() if k != "sig"}, signature):
        return ["the trailer's signature does not verify: the trailer was forged or altered"]
    content = hashlib.sha256()
    check = _EventCheck(trailer, {d.head_seq for d in digests})
    for line, record, last in _with_last(lines()):
        if last:
            break
        content.update(line.encode() + b"\n")
        if record["record"] == "event":
            check.feed(record)
    problems: list[str] = []
    if content.hexdigest() != trailer.get("content_sha256"):
        problems.append(
            "the lines before the trailer are not the ones signed: the export was altered"
        )
    problems += check.finish()
    filters = trailer.get("filters") or {}
    first = int(trailer.get("first_seq") or 1)
    selection = filters.get("incident") or not events  # digest heads need not be in the file
    complete_from = int(trailer["head_seq"]) + 1 if selection else first
    problems += check_digests(
        digests, signer, check.hash_at, int(trailer["head_seq"]), complete_from=complete_from
    )
    stale = staleness(
        digests,
        datetime.fromisoformat(trailer["exported_at"]),
        float(trailer["digest_interval_s"]),
        int(trailer["head_seq"]),
    )
    return problems + ([stale] if stale else [])


class _EventCheck:
    """The event records, fed one at a time in file order: chain (or, for one incident's
    selection, order and hashes), count, and the head; keeps the hashes at ``wanted`` seqs."""

    def __init__(self, trailer: dict[str, Any], wanted: set[int]) -> None:
        self._trailer = trailer
        self._contiguous = not (trailer.get("filters") or {}).get("incident")
        self._verifier = ChainVerifier()
        self._wanted = wanted
        self.hash_at: dict[int, str] = {}
        self._problems: list[str] = []
        self._number = 0
        self._last_seq = 0
        self._last_hash: object = None
        self._stopped = False

    def feed(self, record: dict[str, Any]) -> None:
        self._number += 1
        seq = record.get("seq")
        if isinstance(seq, int) and int(seq) in self._wanted:
            self.hash_at[int(seq)] = str(record["hash"])
        self._last_hash = record.get("hash")
        if self._stopped:
            return
        try:
            event = StoredEvent.model_validate({k: v for k, v in record.items() if k != "record"})
        except ValueError:
            self._problems.append(f"event record {self._number} does not parse: it was altered")
            return
        if self._contiguous:
            if self._number == 1 and event.seq > 1:
                self._verifier = ChainVerifier(after_seq=event.seq - 1, after_hash=event.prev_hash)
            if not self._verifier.feed(event):
                report = self._verifier.report()
                self._problems.append(f"seq {report.first_bad_seq}: {report.problem}")
                self._stopped = True  # the rest cannot be checked against a broken chain
                return
        elif event.seq <= self._last_seq:
            self._problems.append(
                f"seq {event.seq} follows seq {self._last_seq}: events were reordered"
            )
        elif event.hash != event_hash(
            event.prev_hash, hash_fields(event, event.seq, event.recorded_at)
        ):
            self._problems.append(
                f"seq {event.seq}: hash does not match the event's content: it was altered"
            )
        self._last_seq = event.seq

    def finish(self) -> list[str]:
        if self._stopped:
            return self._problems
        trailer = self._trailer
        problems = self._problems
        if self._number != trailer.get("events"):
            problems.append(f"{self._number} events, the trailer says {trailer.get('events')}")
        if (
            self._contiguous
            and self._number
            and (self._last_seq, self._last_hash) != (trailer["head_seq"], trailer["head_hash"])
        ):
            problems.append(
                f"the export ends at seq {self._last_seq}, the signed head is seq"
                f" {trailer['head_seq']}: events were cut off"
            )
        return problems
