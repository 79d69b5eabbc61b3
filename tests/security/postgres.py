"""The PostgreSQL server of these machines (127.0.0.1:5432, trust auth, database ``test``)."""

from __future__ import annotations

import psycopg

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def drop_schema(schema: str) -> None:
    """Drop a schema a test's audit store made (and everything in it)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
