"""Signed, chained digests of the audit chain's head (as CloudTrail's digest files).

A digest names the chain head at one moment (``head_seq``, ``head_hash``), is signed
(:mod:`~orchestrator.audit.signing`) and carries the previous digest's signature, so
digests form a chain of their own. They live in the ``audit_digests`` table of the audit database
(the compare-and-swap store, record ``digest:<n>``): a digest written from the head cannot be
rewritten once the tail is cut without the key, and a digest naming a head the events no longer
reach shows the cut. Digests are written every ``every`` events or ``interval`` seconds, whichever
comes first, even when idle, so a run of missing digests is itself evidence (docs/audit.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.model import iso_utc
from orchestrator.audit.signing import Signer
from orchestrator.audit.store import AuditStore
from orchestrator.errors import AuditError

DIGESTS_TABLE = "audit_digests"


class Digest(BaseModel):
    """One signed digest; ``sig`` covers every other field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int
    at: AwareDatetime
    head_seq: int
    head_hash: str
    prev: str
    """The previous digest's signature ("" for the first): digests chain."""
    alg: str
    key_id: str
    public_key: str | None = None
    sig: str

    def body(self) -> dict[str, Any]:
        fields = self.model_dump(mode="json", exclude={"sig"})
        fields["at"] = iso_utc(self.at)
        return fields


def make_digest(signer: Signer, n: int, at: datetime, head: tuple[int, str], prev: str) -> Digest:
    unsigned: dict[str, Any] = {
        "n": n,
        "at": iso_utc(at),
        "head_seq": head[0],
        "head_hash": head[1],
        "prev": prev,
        "alg": signer.alg,
        "key_id": signer.key_id,
        "public_key": signer.public_key,
    }
    return Digest.model_validate({**unsigned, "sig": signer.sign(unsigned)})


def _target(n: int) -> str:
    return f"digest:{n:012d}"


async def load_digests(holdings: HoldingStore) -> list[Digest]:
    """Every stored digest in order; AuditError if one does not parse."""
    out: list[Digest] = []
    for record in await holdings.all():
        try:
            out.append(Digest.model_validate(record.body))
        except ValueError as exc:
            raise AuditError(f"digest record {record.target!r} is malformed: {exc}") from exc
    return sorted(out, key=lambda d: d.n)


async def chain_head(store: AuditStore, since: int = 0) -> tuple[int, str] | None:
    """(seq, hash) of the newest event after seq ``since`` (reads only those), or None."""
    last = None
    while True:
        page = await store.events(since_seq=since, limit=10_000)
        if not page:
            return last
        last, since = (page[-1].seq, page[-1].hash), page[-1].seq


def is_due(
    last: Digest | None, head: tuple[int, str], now: datetime, every: int, interval: float
) -> bool:
    if last is None:
        return head[0] > 0
    if head[0] - last.head_seq >= every:
        return True
    return (now - last.at).total_seconds() >= interval


async def write_digest_if_due(
    store: AuditStore,
    holdings: HoldingStore,
    signer: Signer,
    *,
    now: datetime,
    every: int,
    interval: float,
    head: tuple[int, str] | None = None,
) -> Digest | None:
    """Write the next digest when one is due; idempotent and safe to race (the record ``n`` is
    created only if absent, so two writers store one digest). None when nothing was written."""
    digests = await load_digests(holdings)
    last = digests[-1] if digests else None
    if head is None:
        previous = (last.head_seq, last.head_hash) if last else (0, "")
        head = await chain_head(store, previous[0]) or previous
    if not is_due(last, head, now, every, interval):
        return None
    n = last.n + 1 if last else 1
    digest = make_digest(signer, n, now, head, last.sig if last else "")
    stored = await holdings.put(_target(n), digest.model_dump(mode="json"), expect_version=0)
    return digest if stored is not None else None


def check_digests(
    digests: list[Digest],
    signer: Signer,
    hash_at: dict[int, str],
    head_seq: int,
    *,
    complete_from: int,
) -> list[str]:
    """Problems with ``digests`` against the events known (``hash_at``: seq -> hash) up to
    ``head_seq``; digest heads at or after ``complete_from`` must be among the known events."""
    problems: list[str] = []
    prev, expected_n = "", 1
    for d in digests:
        if d.key_id != signer.key_id or not signer.valid(d.body(), d.sig):
            problems.append(f"digest #{d.n}: signature does not verify with this key: forged")
            continue
        if d.n != expected_n:
            problems.append(f"digest #{d.n}: expected digest #{expected_n}: digests are missing")
        elif d.prev != prev:
            problems.append(f"digest #{d.n}: does not chain to digest #{d.n - 1}")
        prev, expected_n = d.sig, d.n + 1
        if d.head_seq > head_seq:
            problems.append(
                f"digest #{d.n} names head seq {d.head_seq}, beyond the last event {head_seq}:"
                " the tail was deleted"
            )
        elif d.head_seq >= complete_from and d.head_seq and hash_at.get(d.head_seq) != d.head_hash:
            problems.append(
                f"digest #{d.n} names head seq {d.head_seq} with a hash the events do not have:"
                " the chain was rewritten"
            )
    return problems


def staleness(digests: list[Digest], at: datetime, interval: float, head_seq: int) -> str | None:
    """A problem when no digest was written within twice the interval before ``at``."""
    if head_seq == 0:
        return None
    if not digests:
        return "no digests: the tail cannot be shown complete (is the digest job running?)"
    age = (at - digests[-1].at).total_seconds()
    if age > 2 * interval:
        return (
            f"the last digest #{digests[-1].n} is {age / 60:.0f} min old (interval"
            f" {interval / 60:.0f} min): later digests and the tail may have been deleted"
        )
    return None
