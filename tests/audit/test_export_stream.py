"""The streamed export is, byte for byte, the export built from the models over the whole history;
the store's checks read it a page at a time and name the same problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit import proof
from orchestrator.audit.digests import load_digests, write_digest_if_due
from orchestrator.audit.export import (
    FORMAT,
    content_hash,
    digest_line,
    event_line,
    verify_export,
)
from orchestrator.audit.export_check import verify_export_file
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.model import AuditKind, StoredEvent, canonical_json, iso_utc
from orchestrator.audit.signing import HmacSigner
from orchestrator.errors import AuditError
from orchestrator.secrets import Secret
from tests.audit.conftest import Backend
from tests.audit.factories import event
from tests.audit.test_proof import KEY as PROOF_KEY
from tests.audit.test_proof import _export, _history, _tampered

KEY = HmacSigner(Secret("k3y-for-stream-tests-0123456789ab"))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def _model_export(
    backend: Backend, digests: HoldingStore, since: datetime | None, incident: str | None
) -> str:
    """The export as it was built before streaming: every event as a model, in memory."""
    every: list[StoredEvent] = await backend.store.events(limit=10_000)
    first = next((i for i, e in enumerate(every) if since is None or e.recorded_at >= since), 0)
    chosen = every[first:] if since is None or every[first].recorded_at >= since else []
    if incident is not None:
        chosen = [
            e
            for e in chosen
            if e.incident_id == incident or e.incident_id.startswith(f"{incident}--")
        ]
    lines = [event_line(e) for e in chosen] + [digest_line(d) for d in await load_digests(digests)]
    body: dict[str, Any] = {
        "record": "trailer",
        "format": FORMAT,
        "exported_at": iso_utc(NOW),
        "filters": {"since": since.isoformat() if since else None, "incident": incident},
        "events": len(chosen),
        "digests": len(lines) - len(chosen),
        "first_seq": chosen[0].seq if chosen else None,
        "last_seq": chosen[-1].seq if chosen else None,
        "first_at": iso_utc(chosen[0].at) if chosen else None,
        "last_at": iso_utc(chosen[-1].at) if chosen else None,
        "head_seq": every[-1].seq,
        "head_hash": every[-1].hash,
        "content_sha256": content_hash(lines),
        "digest_interval_s": 600.0,
        "alg": KEY.alg,
        "key_id": KEY.key_id,
        "public_key": KEY.public_key,
    }
    return "\n".join([*lines, canonical_json({**body, "sig": KEY.sign(body)})]) + "\n"


async def test_paged_exports_are_the_model_built_exports(
    backend: Backend, digests: HoldingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proof, "PAGE", 4)  # many pages, a short last one
    for n in range(1, 15):
        data = {"n": n, "note": 'quote " backslash \\ tab \t é', "list": [1.5, None, True]}
        kind = AuditKind.EFFECT_APPLIED if n % 3 else AuditKind.NOTE
        incident = ["inc-a", "inc-a--20261130-101500", "inc-b"][n % 3]
        await backend.store.append(event(n, incident=incident, kind=kind, data=data))
        await write_digest_if_due(
            backend.store, digests, KEY, now=NOW - timedelta(hours=30), every=5, interval=600.0
        )
    since = (await backend.store.events())[6].recorded_at
    cases: list[tuple[datetime | None, str | None]] = [
        (None, None),
        (since, None),
        (None, "inc-a"),
        (since, "inc-b"),
    ]
    for since_, only in cases:
        streamed = await proof.build_export(
            backend.store, digests, KEY, now=NOW, interval=600.0, since=since_, incident=only
        )
        assert streamed == await _model_export(backend, digests, since_, only)
        assert "digests are missing" not in " ".join(verify_export(streamed, KEY))
    assert await proof.verify_store_against(backend.store, streamed) == []


async def test_a_row_that_does_not_parse_stops_the_export_as_before(
    backend: Backend, digests: HoldingStore
) -> None:
    for n in range(1, 4):
        await backend.store.append(event(n))
    await backend.disable_guards()
    await backend.raw("UPDATE {table} SET kind = 'nothing_to_see' WHERE seq = 2")
    with pytest.raises(AuditError, match="audit row seq 2 is malformed"):
        await proof.build_export(backend.store, digests, KEY, now=NOW, interval=600.0)
    with pytest.raises(AuditError, match="audit row seq 2 is malformed"):
        await proof.verify_store_digests(backend.store, digests, KEY, now=NOW, interval=600.0)


@pytest.mark.parametrize("how", ["none", "edit", "delete", "reorder", "insert", "truncate"])
async def test_a_file_is_checked_as_a_stream_with_the_same_findings(
    backend: Backend, digests: HoldingStore, tmp_path: Path, how: str
) -> None:
    await _history(backend, digests)
    text = await _export(backend, digests)
    copy = text if how == "none" else _tampered(text, how)
    path = tmp_path / "copy.jsonl"
    path.write_bytes(copy.replace("\n", "\r\n").encode())  # as a Windows editor saves it
    found = verify_export_file(path, PROOF_KEY)
    assert found == verify_export(copy, PROOF_KEY)
    assert (found == []) is (how == "none")


async def test_the_store_against_an_export_out_of_seq_order(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    text = _tampered(await _export(backend, digests), "reorder")  # seq 4 before seq 3
    await backend.disable_guards()
    await backend.raw("UPDATE {table} SET hash = 'x' WHERE seq = 3")
    await backend.raw("DELETE FROM {table} WHERE seq = 9")
    assert await proof.verify_store_against(backend.store, text) == [
        "seq 3 differs between the export and the store: rewritten",
        "seq 9 is in the export but no longer in the store: deleted",
    ]
