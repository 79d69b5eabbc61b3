"""Proof over a live store: make an export, check the store's digests, check the store against an
export kept elsewhere. The pure formats are :mod:`~orchestrator.audit.export` and
:mod:`~orchestrator.audit.digests`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from orchestrator.audit.digests import check_digests, load_digests, staleness
from orchestrator.audit.export import (
    ExportTally,
    digest_line,
    event_line,
    trailer_line,
)
from orchestrator.audit.export_check import Lines, event_records, export_outline
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.model import iso_utc
from orchestrator.audit.raw import line_of, row_texts
from orchestrator.audit.rows import events_from_rows
from orchestrator.audit.signing import Signer
from orchestrator.audit.store import AuditStore

PAGE = 5000
"""Rows read at a time: export and checks hold one page, never the whole history."""


async def row_pages(store: AuditStore) -> AsyncIterator[list[Sequence[Any]]]:
    """The store's rows, a page at a time, in seq order."""
    since = 0
    while rows := await store.event_rows(since_seq=since, limit=PAGE):
        yield rows
        since = int(rows[-1][0])


def _texts(row: Sequence[Any]) -> tuple[str, str, str]:
    """(export line, at, recorded_at) of ``row`` (:func:`raw.row_texts`), through the models
    when the fast path is unsure: a row that does not parse raises the AuditError reading it
    always raised."""
    texts = row_texts(row)
    if texts is not None:
        return line_of(texts), texts.at, texts.rec
    event = events_from_rows([row])[0]
    return event_line(event), iso_utc(event.at), iso_utc(event.recorded_at)


async def write_export(
    store: AuditStore,
    digests: HoldingStore,
    signer: Signer,
    write: Callable[[str], object],
    *,
    now: datetime,
    interval: float,
    since: datetime | None = None,
    incident: str | None = None,
) -> int:
    """Write the export through ``write`` (each call one line with its newline): the selected
    events (from the first recorded at or after ``since``; of ``incident`` and its occurrences),
    every digest, the signed trailer. Reads the store a page at a time; returns the number of
    records before the trailer."""
    tally = ExportTally()
    head: tuple[int, str] | None = None
    start = None if since is None else iso_utc(since)  # ISO-8601 UTC texts sort as times
    prefix = f"{incident}--"
    async for rows in row_pages(store):
        for row in rows:
            line, at, recorded_at = _texts(row)
            if start is not None and recorded_at < start:
                continue
            start = None  # from the first one on, every later event is in range
            if incident is None or row[2] == incident or str(row[2]).startswith(prefix):
                write(tally.line(line))
                tally.event(int(row[0]), at)
        head = (int(rows[-1][0]), str(rows[-1][13]))
    for digest in await load_digests(digests):
        write(tally.line(digest_line(digest)))
        tally.digests += 1
    filters = {"since": since.isoformat() if since else None, "incident": incident}
    trailer = trailer_line(
        signer, tally, head=head, exported_at=now, interval=interval, filters=filters
    )
    write(trailer + "\n")
    return tally.events + tally.digests


async def build_export(
    store: AuditStore,
    digests: HoldingStore,
    signer: Signer,
    *,
    now: datetime,
    interval: float,
    since: datetime | None = None,
    incident: str | None = None,
) -> str:
    """The export (:func:`write_export`) as one text."""
    out: list[str] = []
    await write_export(
        store,
        digests,
        signer,
        out.append,
        now=now,
        interval=interval,
        since=since,
        incident=incident,
    )
    return "".join(out)


async def _hashes_at(store: AuditStore, wanted: set[int]) -> tuple[dict[int, str], int]:
    """(seq -> hash of the events at the ``wanted`` seqs, last seq), reading every row."""
    found: dict[int, str] = {}
    last = 0
    async for rows in row_pages(store):
        for row in rows:
            if row_texts(row) is None:
                events_from_rows([row])  # raises as reading always did if it does not parse
            if row[0] in wanted:
                found[int(row[0])] = str(row[13])
        last = int(rows[-1][0])
    return found, last


async def verify_store_digests(
    store: AuditStore, digests: HoldingStore, signer: Signer, *, now: datetime, interval: float
) -> list[str]:
    """The live store's digests against its events: signatures, chaining, heads, freshness."""
    found = await load_digests(digests)
    hash_at, head_seq = await _hashes_at(store, {d.head_seq for d in found})
    problems = check_digests(found, signer, hash_at, head_seq, complete_from=1)
    stale = staleness(found, now, interval, head_seq)
    return problems + ([stale] if stale else [])


async def verify_store_against(store: AuditStore, text: str) -> list[str]:
    """Does the store still hold exactly what the export holds, up to the export's head?"""
    return await verify_store_against_lines(store, lambda: text.split("\n"))


async def verify_store_against_lines(store: AuditStore, lines: Lines) -> list[str]:
    """:func:`verify_store_against` reading the export as a stream: its events (in seq order,
    as in any export that verifies) side by side with the store's rows, a page at a time."""
    trailer = export_outline(lines)[1]
    head_seq, head_hash = int(trailer["head_seq"]), str(trailer["head_hash"])
    stored = _store_hashes(store)
    current = await anext(stored, None)
    head: str | None = None
    problems: list[str] = []
    last = 0
    for record in event_records(lines()):
        seq = int(record["seq"])
        if seq <= last:  # not in seq order: compare as a whole
            return await _against_in_memory(store, lines, head_seq, head_hash)
        last = seq
        while current is not None and current[0] < seq:
            head = current[1] if current[0] == head_seq else head
            current = await anext(stored, None)
        found = current[1] if current is not None and current[0] == seq else None
        if found is None:
            problems.append(f"seq {seq} is in the export but no longer in the store: deleted")
        elif found != record["hash"]:
            problems.append(f"seq {seq} differs between the export and the store: rewritten")
    while current is not None:  # every row is read (a row that does not parse raises)
        head = current[1] if current[0] == head_seq else head
        current = await anext(stored, None)
    return problems + _head_problems(head_seq, head_hash, head)


async def _store_hashes(store: AuditStore) -> AsyncIterator[tuple[int, str]]:
    async for rows in row_pages(store):
        for row in rows:
            if row_texts(row) is None:
                events_from_rows([row])  # raises as reading always did if it does not parse
            yield int(row[0]), str(row[13])


async def _against_in_memory(
    store: AuditStore, lines: Lines, head_seq: int, head_hash: str
) -> list[str]:
    records = [(int(r["seq"]), r["hash"]) for r in event_records(lines())]
    hashes, _last = await _hashes_at(store, {seq for seq, _ in records} | {head_seq})
    problems: list[str] = []
    for seq, digest in records:
        found = hashes.get(seq)
        if found is None:
            problems.append(f"seq {seq} is in the export but no longer in the store: deleted")
        elif found != digest:
            problems.append(f"seq {seq} differs between the export and the store: rewritten")
    return problems + _head_problems(head_seq, head_hash, hashes.get(head_seq))


def _head_problems(head_seq: int, head_hash: str, head: str | None) -> list[str]:
    if head_seq and head is None:
        return [f"the export's head seq {head_seq} is no longer in the store: tail deleted"]
    if head is not None and head != head_hash:
        return [f"the store's seq {head_seq} is not the export's head: chain rewritten"]
    return []
