"""``orchestrator audit export | verify | digest``: proof that the audit history was not edited.

The key is ORCHESTRATOR_AUDIT_SIGNING_KEY[_FILE] (HMAC) or ORCHESTRATOR_AUDIT_ED25519_KEY_FILE, or
``--key-file`` / ``--public-key`` (Ed25519, check only); never a command-line value
(it would sit in shell history and ``ps``). Problems print one a line; exit 1 when any is found,
2 for unusable input (no key, no file, not an export).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import typer

from orchestrator.audit.digests import DIGESTS_TABLE, write_digest_if_due
from orchestrator.audit.export_check import ExportError, file_lines, verify_export_file
from orchestrator.audit.factory import open_audit_store, open_holding_store
from orchestrator.audit.proof import (
    verify_store_against_lines,
    verify_store_digests,
    write_export,
)
from orchestrator.audit.query import FilterError, parse_time
from orchestrator.audit.signing import Ed25519Signer, HmacSigner, Signer, signer_for
from orchestrator.cli.common import echo, fail, run, settings_of
from orchestrator.config.settings import Settings
from orchestrator.errors import AuditError
from orchestrator.secrets import Secret

KEY_FILE = typer.Option(None, "--key-file", help="File whose first line is the HMAC key")
PUBLIC_KEY = typer.Option(None, "--public-key", help="Ed25519 public key (PEM) to check with")


def _signer(settings: Settings, key_file: Path | None, public_key: Path | None = None) -> Signer:
    try:
        if public_key is not None:
            return Ed25519Signer.from_pem(public_key)
        if key_file is not None:
            return HmacSigner(_first_line(key_file))
        found = signer_for(settings.audit_signing_key, settings.audit_ed25519_key_file)
    except AuditError as exc:
        raise fail(str(exc)) from None
    if found is None:
        raise fail(
            "no signing key: set ORCHESTRATOR_AUDIT_SIGNING_KEY[_FILE] or"
            " ORCHESTRATOR_AUDIT_ED25519_KEY_FILE, or pass --key-file / --public-key"
        )
    return found


def _first_line(path: Path) -> Secret:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise AuditError(f"cannot read the key file {path}: {reason or exc}") from None
    return Secret(lines[0].strip() if lines else "")


def _since(text: str | None, now: datetime) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text, now=now, name="--since")
    except FilterError as exc:
        raise fail(str(exc)) from None


def _report(problems: list[str], ok: str) -> None:
    for problem in problems:
        echo(f"FAIL: {problem}")
    if problems:
        raise typer.Exit(1)
    echo(ok)


def export(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (default: stdout)"),
    since: str | None = typer.Option(None, help="Only events recorded since: 7d, 12h, ISO time"),
    incident: str | None = typer.Option(None, "--incident", "-i", help="Only this incident"),
    key_file: Path | None = KEY_FILE,
) -> None:
    """Write the events, the signed digests and a signed trailer (chain head, counts, range)."""
    settings = settings_of(ctx)
    signer = _signer(settings, key_file)
    now = datetime.now(UTC)
    start = _since(since, now)

    async def body(write: Callable[[str], object]) -> int:
        store = open_audit_store(settings.effective_audit_url)
        digests = open_holding_store(settings.effective_audit_url, DIGESTS_TABLE)
        try:
            return await write_export(
                store,
                digests,
                signer,
                write,
                now=now,
                interval=settings.audit_digest_interval,
                since=start,
                incident=incident,
            )
        finally:
            await digests.close()
            await store.close()

    if out is None:
        run(lambda: body(sys.stdout.write))
        return
    # Written line by line to a file beside the target, renamed into place once complete: a
    # failed export never leaves a partial file under the name asked for.
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as file:
            records = run(lambda: body(file.write))
        partial.replace(out)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    echo(f"exported {records} records to {out}")


def verify(
    ctx: typer.Context,
    export_file: Path | None = typer.Option(None, "--export", help="An export kept elsewhere"),
    against_store: bool = typer.Option(
        False, "--store", help="With --export: the store still holds exactly what it exported"
    ),
    key_file: Path | None = KEY_FILE,
    public_key: Path | None = PUBLIC_KEY,
) -> None:
    """Check an export without the database, or the live store's digests (and chain)."""
    settings = settings_of(ctx)
    signer = _signer(settings, key_file, public_key)
    if export_file is None:
        _report(run(lambda: _live(settings, signer)), "store ok: chain and digests verify")
        return
    try:
        problems = verify_export_file(export_file, signer)  # streamed: any size
        if against_store and not problems:
            problems = run(lambda: _against(settings, export_file))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise fail(f"cannot read {export_file}: {reason or exc}") from None
    except ExportError as exc:
        raise fail(f"{export_file}: {exc}") from None
    _report(problems, f"export ok: {export_file}")


async def _live(settings: Settings, signer: Signer) -> list[str]:
    store = open_audit_store(settings.effective_audit_url)
    digests = open_holding_store(settings.effective_audit_url, DIGESTS_TABLE)
    try:
        chain = await store.verify()
        problems = [] if chain.ok else [f"seq {chain.first_bad_seq}: {chain.problem}"]
        return problems + await verify_store_digests(
            store,
            digests,
            signer,
            now=datetime.now(UTC),
            interval=settings.audit_digest_interval,
        )
    finally:
        await digests.close()
        await store.close()


async def _against(settings: Settings, export_file: Path) -> list[str]:
    store = open_audit_store(settings.effective_audit_url)
    try:
        return await verify_store_against_lines(store, lambda: file_lines(export_file))
    finally:
        await store.close()


def digest(ctx: typer.Context, key_file: Path | None = KEY_FILE) -> None:
    """Write the next signed digest if one is due (idempotent; the worker also does this)."""
    settings = settings_of(ctx)
    signer = _signer(settings, key_file)

    async def body() -> str:
        store = open_audit_store(settings.effective_audit_url)
        digests = open_holding_store(settings.effective_audit_url, DIGESTS_TABLE)
        try:
            made = await write_digest_if_due(
                store,
                digests,
                signer,
                now=datetime.now(UTC),
                every=settings.audit_digest_every,
                interval=settings.audit_digest_interval,
            )
        finally:
            await digests.close()
            await store.close()
        return f"digest #{made.n} at head seq {made.head_seq}" if made else "no digest due"

    echo(run(body))


def register(group: typer.Typer) -> None:
    group.command()(export)
    group.command()(verify)
    group.command()(digest)
