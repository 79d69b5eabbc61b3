"""The audit scale benchmark end to end on a small history, so it cannot rot (no timing checked)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench import audit_scale


def _bench_databases() -> set[str]:
    with psycopg.connect(audit_scale.PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'audit_bench_%'")
        return {str(row[0]) for row in rows.fetchall()}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_small_run_generates_measures_and_cleans_up(backend: str, tmp_path: Path) -> None:
    before = _bench_databases()
    figures = await audit_scale.run_backend(
        backend, 2000, 20, samples=15, seed=5, workdir=tmp_path, cache=tmp_path / "cache"
    )
    assert figures["timeline"]["n"] == figures["timeline"]["again"]["n"] == 15
    assert figures["query_first"]["n"] == 15 and figures["query_all"]["events"] > 0
    assert figures["stats_all"]["incidents"] > 0
    chain = figures["chain"]
    assert chain["events"] == 2000 and chain["verifier_ok"]
    assert chain["raw_sha256_s"] > 0 and chain["ratio"] > 0
    assert figures["export"]["code"] == 0 and figures["export"]["file_mb"] > 0
    assert figures["live_verify"]["said"] == "store ok: chain and digests verify"
    assert _bench_databases() == before  # the run's database is dropped
    if backend == "sqlite":  # the generated file is kept for the next run, which reuses it
        assert (tmp_path / "cache" / "audit-2000-20-5.db").exists()
        again = await audit_scale.run_backend(
            backend, 2000, 20, samples=15, seed=5, workdir=tmp_path, cache=tmp_path / "cache"
        )
        assert again["chain"]["events"] == 2000
