"""The audit backends of tests/audit (SQLite and PostgreSQL) for the benchmark's own tests."""

from tests.audit.conftest import backend, pg_run, pg_schema

__all__ = ["backend", "pg_run", "pg_schema"]
