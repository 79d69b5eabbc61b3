"""Proof over a live store: make an export, check the store's digests, check the store against an
export kept elsewhere. The pure formats are :mod:`~orchestrator.audit.export` and
:mod:`~orchestrator.audit.digests`."""

from __future__ import annotations

from datetime import datetime

from orchestrator.audit.digests import check_digests, load_digests, staleness
from orchestrator.audit.export import digest_line, event_line, parse_export, trailer_line
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.model import StoredEvent
from orchestrator.audit.signing import Signer
from orchestrator.audit.store import AuditStore

PAGE = 5000


async def all_events(store: AuditStore) -> list[StoredEvent]:
    out: list[StoredEvent] = []
    while page := await store.events(since_seq=out[-1].seq if out else 0, limit=PAGE):
        out.extend(page)
    return out


def _selected(
    events: list[StoredEvent], since: datetime | None, incident: str | None
) -> list[StoredEvent]:
    if since is not None:
        first = next((i for i, e in enumerate(events) if e.recorded_at >= since), len(events))
        events = events[first:]
    if incident is not None:
        prefix = f"{incident}--"
        events = [
            e for e in events if e.incident_id == incident or e.incident_id.startswith(prefix)
        ]
    return events


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
    """The export text: selected events, every digest, the signed trailer."""
    every = await all_events(store)
    head = (every[-1].seq, every[-1].hash) if every else None
    chosen = _selected(every, since, incident)
    lines = [event_line(e) for e in chosen]
    lines += [digest_line(d) for d in await load_digests(digests)]
    filters = {"since": since.isoformat() if since else None, "incident": incident}
    trailer = trailer_line(
        signer, lines, chosen, head=head, exported_at=now, interval=interval, filters=filters
    )
    return "\n".join([*lines, trailer]) + "\n"


async def verify_store_digests(
    store: AuditStore, digests: HoldingStore, signer: Signer, *, now: datetime, interval: float
) -> list[str]:
    """The live store's digests against its events: signatures, chaining, heads, freshness."""
    events = await all_events(store)
    hash_at = {e.seq: e.hash for e in events}
    head_seq = events[-1].seq if events else 0
    found = await load_digests(digests)
    problems = check_digests(found, signer, hash_at, head_seq, complete_from=1)
    stale = staleness(found, now, interval, head_seq)
    return problems + ([stale] if stale else [])


async def verify_store_against(store: AuditStore, text: str) -> list[str]:
    """Does the store still hold exactly what the export holds, up to the export's head?"""
    records, _digests, trailer, _lines = parse_export(text)
    events = {e.seq: e for e in await all_events(store)}
    problems: list[str] = []
    for record in records:
        seq = int(record["seq"])
        found = events.get(seq)
        if found is None:
            problems.append(f"seq {seq} is in the export but no longer in the store: deleted")
        elif found.hash != record["hash"]:
            problems.append(f"seq {seq} differs between the export and the store: rewritten")
    head_seq, head_hash = int(trailer["head_seq"]), str(trailer["head_hash"])
    head = events.get(head_seq)
    if head_seq and head is None:
        problems.append(f"the export's head seq {head_seq} is no longer in the store: tail deleted")
    elif head is not None and head.hash != head_hash:
        problems.append(f"the store's seq {head_seq} is not the export's head: chain rewritten")
    return problems
