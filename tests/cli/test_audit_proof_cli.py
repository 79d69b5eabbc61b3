"""`orchestrator audit export | verify | digest` as a real process on a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from orchestrator.audit.factory import open_audit_store
from tests.audit.factories import event
from tests.cli.helpers import cli

KEY = "proof-cli-key-6b1f0c2e9d"


@pytest.fixture
async def env(tmp_path: Path) -> dict[str, str]:
    """A state folder with 6 events, and the key in the environment."""
    environ = {
        "ORCHESTRATOR_STATE_DIR": str(tmp_path / "state"),
        "ORCHESTRATOR_AUDIT_SIGNING_KEY": KEY,
        "ORCHESTRATOR_AUDIT_DIGEST_EVERY": "3",
    }
    store = open_audit_store(f"sqlite:///{tmp_path / 'state' / 'audit.db'}")
    try:
        for i in range(1, 7):
            await store.append(event(i))
            if i % 3 == 1:
                assert (await cli("audit", "digest", env=environ)).out.startswith("digest #")
    finally:
        await store.close()
    return environ


async def test_export_then_verify_the_copy_and_the_store(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "copy.jsonl"
    made = await cli("audit", "export", "--out", str(out), env=env)
    assert made.code == 0 and "exported 8 records" in made.out, made.err
    assert KEY not in out.read_text() and KEY not in made.out + made.err
    checked = await cli("audit", "verify", "--export", str(out), "--store", env=env)
    assert (checked.code, checked.out.strip()) == (0, f"export ok: {out}"), checked.err
    live = await cli("audit", "verify", env=env)
    assert (live.code, live.out.strip()) == (0, "store ok: chain and digests verify")
    assert (await cli("audit", "digest", env=env)).out.strip() == "no digest due"


async def test_a_tampered_copy_fails_one_line_per_problem(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "copy.jsonl"
    assert (await cli("audit", "export", "-o", str(out), env=env)).code == 0
    lines = out.read_text().splitlines()
    record = json.loads(lines[1])
    record["actor"] = "someone-else"
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    out.write_text("\n".join(lines) + "\n")
    result = await cli("audit", "verify", "--export", str(out), env=env)
    assert result.code == 1
    assert result.out.splitlines() == [
        "FAIL: the lines before the trailer are not the ones signed: the export was altered",
        "FAIL: seq 2: hash does not match the event's content: it was altered",
    ]


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ("missing", 2, "error: cannot read {dir}/missing.jsonl: No such file or directory"),
        ("not-export", 2, "error: {dir}/not-export.jsonl: line 1 is not JSON: not an audit export"),
        ("wrong-key", 1, "wrong key or forged"),
        ("no-key", 2, "error: no signing key: set ORCHESTRATOR_AUDIT_SIGNING_KEY[_FILE]"),
    ],
)
async def test_bad_inputs_give_one_line(
    env: dict[str, str], tmp_path: Path, setup: str, code: int, message: str
) -> None:
    good = tmp_path / "good.jsonl"
    assert (await cli("audit", "export", "-o", str(good), env=env)).code == 0
    (tmp_path / "not-export.jsonl").write_text("PK\x03\x04 a zip, say\n")
    (tmp_path / "other.key").write_text("a-different-key-entirely\n")
    target = {"missing": "missing.jsonl", "not-export": "not-export.jsonl"}.get(setup, "good.jsonl")
    args = ["audit", "verify", "--export", str(tmp_path / target)]
    environ = dict(env)
    if setup == "wrong-key":
        args += ["--key-file", str(tmp_path / "other.key")]
    if setup == "no-key":
        del environ["ORCHESTRATOR_AUDIT_SIGNING_KEY"]
    result = await cli(*args, env=environ)
    shown = result.out + result.err
    assert result.code == code, shown
    assert message.format(dir=tmp_path) in shown
    assert len(shown.strip().splitlines()) == 1
    assert KEY not in shown and "a-different-key" not in shown


async def test_ed25519_export_checked_with_the_public_key(
    env: dict[str, str], tmp_path: Path
) -> None:
    private = Ed25519PrivateKey.generate()
    key = tmp_path / "audit.key"
    key.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    pub = tmp_path / "audit.pub"
    pub.write_bytes(
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    signing = {**env, "ORCHESTRATOR_AUDIT_ED25519_KEY_FILE": str(key)}
    del signing["ORCHESTRATOR_AUDIT_SIGNING_KEY"]
    out = tmp_path / "copy.jsonl"
    assert (await cli("audit", "export", "-o", str(out), env=signing)).code == 0
    checking = {k: v for k, v in signing.items() if not k.startswith("ORCHESTRATOR_AUDIT_ED")}
    ok = await cli("audit", "verify", "--export", str(out), "--public-key", str(pub), env=checking)
    assert ok.code == 1  # the HMAC digests of the fixture do not verify with this key
    assert "digest #1: signature does not verify with this key: forged" in ok.out
    assert "PRIVATE" not in ok.out + ok.err


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_export_to_stdout_and_an_unwritable_target(
    env: dict[str, str], tmp_path: Path
) -> None:
    to_file = tmp_path / "copy.jsonl"
    assert (await cli("audit", "export", "-o", str(to_file), env=env)).code == 0
    shown = await cli("audit", "export", env=env)
    assert shown.code == 0
    assert shown.out.splitlines()[:-1] == to_file.read_text().splitlines()[:-1]
    (tmp_path / "a-folder").mkdir()
    for target, reason in [("no-such-dir/copy.jsonl", "No such file"), ("a-folder", "Is a dir")]:
        failed = await cli("audit", "export", "-o", str(tmp_path / target), env=env)
        assert failed.code == 2
        assert f"error: cannot write {tmp_path / target}: {reason}" in failed.err + failed.out
    assert _names(tmp_path) == ["a-folder", "copy.jsonl", "state"]  # no partial file left
