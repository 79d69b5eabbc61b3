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
    parse_export,
    trailer_line,
)
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
    records, _digests, trailer, _lines = parse_export(text)
    head_seq, head_hash = int(trailer["head_seq"]), str(trailer["head_hash"])
    wanted = {int(record["seq"]) for record in records} | {head_seq}
    hashes, _last = await _hashes_at(store, wanted)
    problems: list[str] = []
    for record in records:
        seq = int(record["seq"])
        found = hashes.get(seq)
        if found is None:
            problems.append(f"seq {seq} is in the export but no longer in the store: deleted")
        elif found != record["hash"]:
            problems.append(f"seq {seq} differs between the export and the store: rewritten")
    head = hashes.get(head_seq)
    if head_seq and head is None:
        problems.append(f"the export's head seq {head_seq} is no longer in the store: tail deleted")
    elif head is not None and head != head_hash:
        problems.append(f"the store's seq {head_seq} is not the export's head: chain rewritten")
    return problems
