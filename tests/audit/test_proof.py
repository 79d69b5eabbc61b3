"""Exports, signed digests and their checks, on SQLite and PostgreSQL: every tamper is named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from orchestrator.audit.digests import write_digest_if_due
from orchestrator.audit.export import ExportError, verify_export
from orchestrator.audit.holdings import HoldingStore
from orchestrator.audit.proof import build_export, verify_store_against, verify_store_digests
from orchestrator.audit.signing import Ed25519Signer, HmacSigner
from orchestrator.errors import AuditError
from orchestrator.secrets import Secret
from tests.audit.conftest import Backend
from tests.audit.factories import event

KEY = HmacSigner(Secret("k3y-for-tests-only-0123456789abcdef"))
INTERVAL = 600.0


async def _history(backend: Backend, digests: HoldingStore, n: int = 12) -> None:
    """n events, a digest due every 4 (as the periodic job writes them)."""
    for i in range(1, n + 1):
        await backend.store.append(event(i, incident=f"inc-{i % 2}"))
        await write_digest_if_due(
            backend.store, digests, KEY, now=datetime.now(UTC), every=4, interval=INTERVAL
        )


async def _export(backend: Backend, digests: HoldingStore, **kw: object) -> str:
    now = kw.pop("now", datetime.now(UTC))
    return await build_export(backend.store, digests, KEY, now=now, interval=INTERVAL, **kw)  # type: ignore[arg-type]


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


async def test_a_clean_export_verifies_and_matches_the_store(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    text = await _export(backend, digests)
    records = [json.loads(line) for line in _lines(text)]
    assert [r["record"] for r in records].count("event") == 12
    assert [r["record"] for r in records].count("digest") == 3
    assert records[-1]["head_seq"] == 12 and "k3y" not in text
    assert verify_export(text, KEY) == []
    assert await verify_store_against(backend.store, text) == []
    now = datetime.now(UTC)
    assert await verify_store_digests(backend.store, digests, KEY, now=now, interval=INTERVAL) == []


async def test_filtered_exports_verify(backend: Backend, digests: HoldingStore) -> None:
    await _history(backend, digests)
    by_incident = await _export(backend, digests, incident="inc-1")
    assert verify_export(by_incident, KEY) == []
    assert sum('"record":"event"' in line for line in _lines(by_incident)) == 6
    since = await _export(backend, digests, since=datetime.now(UTC) - timedelta(hours=1))
    assert verify_export(since, KEY) == []
    nothing = await _export(backend, digests, since=datetime.now(UTC) + timedelta(hours=1))
    assert verify_export(nothing, KEY) == []


def _tampered(text: str, how: str) -> str:
    lines = _lines(text)
    if how == "edit":
        record = json.loads(lines[2])
        record["summary"] = "nothing happened"
        lines[2] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    elif how == "delete":
        del lines[3]
    elif how == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
    elif how == "insert":
        lines.insert(4, lines[4])
    elif how == "truncate":
        del lines[10:12]  # the last two events; the trailer stays
    return _join(lines)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("edit", "seq 3: hash does not match the event's content: it was altered"),
        ("delete", "seq 5: expected seq 4, found 5: events are missing or reordered"),
        ("reorder", "seq 4: expected seq 3, found 4: events are missing or reordered"),
        ("insert", "seq 5: expected seq 6, found 5: events are missing or reordered"),
        ("truncate", "the export ends at seq 10, the signed head is seq 12: events were cut off"),
    ],
)
async def test_each_tamper_of_an_export_is_named(
    backend: Backend, digests: HoldingStore, how: str, message: str
) -> None:
    await _history(backend, digests)
    problems = verify_export(_tampered(await _export(backend, digests), how), KEY)
    assert message in problems
    assert (
        "the lines before the trailer are not the ones signed: the export was altered" in problems
    )


async def test_wrong_key_forged_trailer_and_not_an_export(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    text = await _export(backend, digests)
    other = HmacSigner(Secret("another-key-entirely-0000000000"))
    assert "wrong key or forged" in verify_export(text, other)[0]
    lines = _lines(text)
    trailer = json.loads(lines[-1])
    trailer["head_seq"] = 10
    lines[-1] = json.dumps(trailer, sort_keys=True, separators=(",", ":"))
    assert verify_export(_join(lines), KEY) == [
        "the trailer's signature does not verify: the trailer was forged or altered"
    ]
    with pytest.raises(ExportError, match="no trailer at the end"):
        verify_export(_join(lines[:-1]), KEY)
    with pytest.raises(ExportError, match="line 1 is not JSON"):
        verify_export("hello\n", KEY)


async def test_a_deleted_tail_in_the_store_is_caught_by_its_digests(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    await backend.disable_guards()
    await backend.raw("DELETE FROM {table} WHERE seq > 7")
    text = await _export(backend, digests)  # a fresh, validly signed export of the cut store
    assert (
        "digest #3 names head seq 9, beyond the last event 7: the tail was deleted"
        in verify_export(text, KEY)
    )
    now = datetime.now(UTC)
    live = await verify_store_digests(backend.store, digests, KEY, now=now, interval=INTERVAL)
    assert "digest #3 names head seq 9, beyond the last event 7: the tail was deleted" in live


async def test_a_tail_cut_with_its_digests_is_caught_by_their_absence(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    await backend.disable_guards()
    await backend.raw("DELETE FROM {table} WHERE seq > 8")
    for target in ("digest:000000000003",):
        found = await digests.get(target)
        assert found is not None
        assert await digests.delete(target, expect_version=found.version)
    later = datetime.now(UTC) + timedelta(seconds=3 * INTERVAL)
    problems = verify_export(await _export(backend, digests, now=later), KEY)
    assert any("later digests and the tail may have been deleted" in p for p in problems)


async def test_the_store_against_an_export_names_rewrites_and_deletions(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests)
    text = await _export(backend, digests)
    await backend.disable_guards()
    await backend.raw("UPDATE {table} SET hash = 'x' WHERE seq = 5")
    await backend.raw("DELETE FROM {table} WHERE seq = 12")
    problems = await verify_store_against(backend.store, text)
    assert "seq 5 differs between the export and the store: rewritten" in problems
    assert "seq 12 is in the export but no longer in the store: deleted" in problems
    assert "the export's head seq 12 is no longer in the store: tail deleted" in problems


async def test_digests_are_idempotent_and_forgeries_named(
    backend: Backend, digests: HoldingStore
) -> None:
    await _history(backend, digests, n=4)
    now = datetime.now(UTC)
    again = await write_digest_if_due(
        backend.store, digests, KEY, now=now, every=4, interval=INTERVAL
    )
    assert again is None  # nothing new, not yet due by time
    forged = HmacSigner(Secret("attacker-key-000000000000000000"))
    assert await write_digest_if_due(
        backend.store, digests, forged, now=now + timedelta(hours=1), every=4, interval=INTERVAL
    )
    problems = await verify_store_digests(backend.store, digests, KEY, now=now, interval=INTERVAL)
    assert "digest #2: signature does not verify with this key: forged" in problems


async def test_ed25519_exports_are_checked_with_the_public_key_alone(
    backend: Backend, digests: HoldingStore, tmp_path: Path
) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (tmp_path / "audit.key").write_bytes(pem)
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "audit.pub").write_bytes(public_pem)
    signer = Ed25519Signer.from_pem(tmp_path / "audit.key")
    checker = Ed25519Signer.from_pem(tmp_path / "audit.pub")
    for i in range(1, 6):
        await backend.store.append(event(i))
        await write_digest_if_due(
            backend.store, digests, signer, now=datetime.now(UTC), every=2, interval=INTERVAL
        )
    now = datetime.now(UTC)
    text = await build_export(backend.store, digests, signer, now=now, interval=INTERVAL)
    assert json.loads(_lines(text)[-1])["public_key"] == checker.public_key
    assert verify_export(text, checker) == []
    reordered = verify_export(_tampered(text, "reorder"), checker)
    assert "seq 4: expected seq 3, found 4: events are missing or reordered" in reordered
    assert "wrong key or forged" in verify_export(text, KEY)[0]
    with pytest.raises(AuditError, match="cannot sign"):
        checker.sign({"n": 1})
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(AuditError, match="is not an unencrypted Ed25519 key"):
        Ed25519Signer.from_pem(tmp_path / "bad.pem")
