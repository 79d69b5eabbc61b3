"""open_audit_store: which URLs open which store, and errors that never show a password."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from orchestrator.audit.factory import describe_url, open_audit_store
from orchestrator.audit.postgres_store import PostgresAuditStore
from orchestrator.audit.sqlite_store import SqliteAuditStore
from orchestrator.errors import AuditError, ConfigError
from tests.audit.factories import event

PASSWORD = "s3cr3t-Pa55"


def _everything_said(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "audit.db",
        "/var/lib/audit.db",
        f"mysql://auditor:{PASSWORD}@db:3306/audit",
        "sqlite://audit.db",
        "sqlite:///",
        "sqlite:///state/",
        f"postgresql://auditor:{PASSWORD}@db:notaport/audit",
        f"postgresql://auditor:{PASSWORD}@db:5432/audit?schema=bad-name;drop",
        f"http://auditor:{PASSWORD}@example.com/?token={PASSWORD}",
    ],
)
def test_unsupported_urls_are_config_errors_without_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_audit_store(url)
    assert PASSWORD not in _everything_said(caught.value)
    assert (
        "sqlite:///" in str(caught.value)
        or "schema" in str(caught.value)
        or "port" in str(caught.value)
    )


def test_sqlite_urls_follow_the_relative_and_absolute_convention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        repr(open_audit_store("sqlite:///state/audit.db")) == "SqliteAuditStore('state/audit.db')"
    )
    absolute = open_audit_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(absolute, SqliteAuditStore)
    assert repr(absolute) == f"SqliteAuditStore('{tmp_path}/x.db')"


async def test_sqlite_store_creates_its_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_audit_store("sqlite:///deep/er/audit.db")
    try:
        await store.append(event(1))
    finally:
        await store.close()
    assert (tmp_path / "deep" / "er" / "audit.db").is_file()


async def test_in_memory_sqlite_works_for_throwaway_use() -> None:
    store = open_audit_store("sqlite:///:memory:")
    try:
        await store.append(event(1))
        assert (await store.verify()).checked == 1
    finally:
        await store.close()


def test_postgres_urls_open_a_postgres_store_with_the_schema_taken_out() -> None:
    for scheme in ("postgresql", "postgres"):
        store = open_audit_store(f"{scheme}://auditor:{PASSWORD}@db/audit?schema=audit_x")
        assert isinstance(store, PostgresAuditStore)
        assert repr(store) == "PostgresAuditStore(schema='audit_x')"
        assert PASSWORD not in repr(vars(store))
    default = open_audit_store("postgresql://db/audit?sslmode=disable")
    assert repr(default) == "PostgresAuditStore(schema='orchestrator')"


async def test_unreachable_postgres_error_does_not_show_the_password() -> None:
    store = open_audit_store(f"postgresql://auditor:{PASSWORD}@127.0.0.1:1/test?connect_timeout=2")
    try:
        with pytest.raises(AuditError) as caught:
            await store.append(event(1))
        assert "connect failed" in str(caught.value)
        assert PASSWORD not in _everything_said(caught.value)
        with pytest.raises(AuditError) as again:
            await store.verify()
        assert PASSWORD not in _everything_said(again.value)
    finally:
        await store.close()


def test_describe_url_masks_passwords_and_secret_parameters() -> None:
    shown = describe_url(f"postgresql://auditor:{PASSWORD}@db:5432/audit?password={PASSWORD}")
    assert PASSWORD not in shown
    assert shown.startswith("postgresql://auditor:[redacted]@db:5432/audit")
