"""Choosing the audit backend from a URL, the one place that imports both backends.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's convention: the
path is what follows ``sqlite:///``), and ``postgresql://`` / ``postgres://`` URLs (libpq syntax;
an extra ``schema=`` query parameter picks the schema, default ``orchestrator``). Stores connect
lazily: connection errors surface on the first call.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from orchestrator.audit.holdings import HOLDINGS_TABLE, HoldingStore
from orchestrator.audit.store import AuditStore
from orchestrator.errors import ConfigError
from orchestrator.secrets import REDACTED, redact, redact_text


def _backend(url: str) -> str:
    """``sqlite`` or ``postgresql``; ConfigError (password never shown) for anything else."""
    scheme = url.partition(":")[0].lower() if "://" in url else ""
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "the PostgreSQL audit store needs psycopg:"
                " pip install 'ai-cx-orchestrator[postgres]'"
            ) from exc
        return "postgresql"
    raise ConfigError(
        f"unsupported audit store URL {describe_url(url)!r}: use sqlite:///path/to/audit.db"
        " or postgresql://user@host:5432/dbname"
    )


def open_audit_store(url: str) -> AuditStore:
    """The store a URL names; ConfigError (password never shown) for anything unsupported."""
    if _backend(url) == "sqlite":
        from orchestrator.audit.sqlite_store import SqliteAuditStore

        return SqliteAuditStore(sqlite_path(url))
    from orchestrator.audit.postgres_store import PostgresAuditStore

    dsn, schema = split_schema(url)
    return PostgresAuditStore(dsn, schema=schema)


def open_holding_store(url: str, table: str = HOLDINGS_TABLE) -> HoldingStore:
    """The compare-and-swap store ``table`` (the holdings by default) in the audit database a
    URL names (the same database)."""
    if _backend(url) == "sqlite":
        from orchestrator.audit.holdings_sqlite import SqliteHoldingStore

        return SqliteHoldingStore(sqlite_path(url), table=table)
    from orchestrator.audit.holdings_postgres import PostgresHoldingStore

    dsn, schema = split_schema(url)
    return PostgresHoldingStore(dsn, schema=schema, table=table)


def sqlite_path(url: str) -> Path | str:
    prefix = "sqlite:///"
    if not url.lower().startswith(prefix):
        raise ConfigError(
            f"SQLite audit URL {describe_url(url)!r} must look like sqlite:///relative/audit.db"
            " or sqlite:////absolute/audit.db"
        )
    path = url[len(prefix) :].split("?", 1)[0]
    if not path or path.endswith("/"):
        raise ConfigError(f"SQLite audit URL {describe_url(url)!r} names no file")
    return ":memory:" if path == ":memory:" else Path(path)


def split_schema(url: str) -> tuple[str, str]:
    """Take our ``schema=`` parameter out of a PostgreSQL URL (libpq would refuse it)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # validates the port now rather than at connect time
    except ValueError as exc:
        raise ConfigError(f"invalid PostgreSQL audit URL {describe_url(url)!r}: {exc}") from None
    if not parts.hostname and not parts.path.strip("/") and not parts.query:
        raise ConfigError(f"PostgreSQL audit URL {describe_url(url)!r} names no host or database")
    params = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in params if key == "schema"]
    rest = [(key, value) for key, value in params if key != "schema"]
    schema = schemas[-1] if schemas else "orchestrator"
    return urlunsplit(parts._replace(query=urlencode(rest))), schema


def describe_url(url: str) -> str:
    """``url`` safe to show: any password (and secret-looking query values) masked."""
    try:
        parts = urlsplit(url)
        shown = url
        if parts.password is not None:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            shown = shown.replace(parts.netloc, f"{user}:{REDACTED}@{hostport}", 1)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if redact(params) != params:
            shown = shown.replace(parts.query, urlencode(redact(params)), 1)
        return redact_text(shown)
    except ValueError:
        return f"{url.partition(':')[0][:20]}://{REDACTED}"
