"""`orchestrator audit query`, `stats` and `incidents` as a real process over a real audit store
(SQLite and PostgreSQL), with the generated history of tests/audit/test_stats.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from orchestrator.audit.model import AuditKind
from tests.audit.conftest import Backend, backend, pg_run, pg_schema  # noqa: F401 - fixtures
from tests.audit.test_stats import OTHER, fill
from tests.cli.helpers import cli
from workers.devserver import free_port

SEV1 = f"{OTHER}--20261127-200000"


@pytest.fixture
async def env(backend: Backend, tmp_path: Path) -> dict[str, str]:  # noqa: F811 - the fixture
    """The history in the store; the CLI pointed at it, and at a Temporal that is not there."""
    await fill(backend.store)
    return {
        "ORCHESTRATOR_STATE_DIR": str(tmp_path / "state"),
        "ORCHESTRATOR_AUDIT_URL": backend.url,
        "ORCHESTRATOR_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }


async def test_query_formats_and_paging(env: dict[str, str]) -> None:
    lines = await cli("audit", "query", "--severity", "sev1", "--format", "jsonl", env=env)
    assert lines.code == 0, lines.err
    events = [json.loads(line) for line in lines.out.splitlines()]
    assert {e["incident_id"] for e in events} == {SEV1} and len(events) == 5
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert lines.err == ""

    table = await cli("audit", "query", "--kind", "effect_applied", env=env)
    header, *rows = table.out.splitlines()
    assert header.split() == ["SEQ", "AT", "INCIDENT_ID", "KIND", "ACTOR", "SUMMARY"]
    assert len(rows) == 5 and all(" effect_applied " in r for r in rows)

    got = await cli("audit", "query", "--outcome", "failed", "--format", "csv", env=env)
    [row] = list(csv.DictReader(io.StringIO(got.out)))
    assert (row["incident_id"], row["kind"]) == (SEV1, AuditKind.STEP_FAILED.value)
    assert json.loads(row["data"]) == {"action": "deploy.pin_version", "step": "pin"}

    first = await cli(
        "audit", "query", "--target", "support-assistant-answer-mode", "--limit", "3", env=env
    )
    assert len(first.out.splitlines()) == 4
    cursor = first.out.splitlines()[-1].split()[0]
    assert first.err.strip() == f"more: --after {cursor}"
    rest = await cli(
        "audit", "query", "--target", "support-assistant-answer-mode", "--after", cursor, env=env
    )
    assert len(rest.out.splitlines()) == 1 + 10 - 3 and rest.err == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "flag_changed"], "error: unknown kind 'flag_changed'; valid: signal_received,"),
        (["--severity", "SEV9"], "error: unknown severity 'SEV9'; valid: SEV1, SEV2, SEV3, SEV4"),
        (["--since", "yesterday"], "error: since must be like 7d, 12h, 30m or an ISO time"),
        (["--format", "xml"], "error: unknown format 'xml'; valid: table, jsonl, csv"),
        (["--limit", "0"], "error: --limit must be between 1 and 10000, got 0"),
    ],
)
async def test_bad_options_are_one_line_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = {"ORCHESTRATOR_STATE_DIR": str(tmp_path / "state")}
    got = await cli("audit", "query", *args, env=env)
    assert got.code == 2 and got.out == ""
    assert got.err.startswith(message) and got.err.count("\n") == 1, got.err


async def test_stats_as_json_and_table(env: dict[str, str]) -> None:
    as_json = await cli("stats", "--format", "json", env=env)
    assert as_json.code == 0, as_json.err
    figures = json.loads(as_json.out)
    assert figures["incidents"] == 6 and figures["by_severity"] == {"SEV1": 1, "SEV2": 5}
    assert figures["time_to_mitigate"] == {"n": 5, "median_seconds": 30.0, "p90_seconds": 100.0}
    shown = await cli("stats", "--service", "support-assistant", env=env)
    assert shown.out.startswith("5 incidents, ")
    lines = [" ".join(line.split()) for line in shown.out.splitlines()]
    assert "time to mitigate 5 30.0 s 1 min 40 s" in lines
    assert "time to recover 5 5 min 00 s 16 min 40 s" in lines
    assert "fairness-fallback 5 5 4" in lines


async def test_incidents_from_the_audit_when_temporal_is_away(env: dict[str, str]) -> None:
    got = await cli("incidents", "--severity", "SEV1", "--format", "jsonl", env=env)
    assert got.code == 0, got.err
    [row] = [json.loads(line) for line in got.out.splitlines()]
    assert (row["incident_id"], row["state"], row["events"]) == (SEV1, "open", 5)
    assert got.err.startswith("warning: live state not shown: cannot reach Temporal")
    resolved = await cli("incidents", "--state", "resolved", "--since", "2026-11-27T12:00", env=env)
    header, *rows = resolved.out.splitlines()
    assert header.split()[:5] == ["INCIDENT_ID", "SERVICE", "SLO", "SEVERITY", "STATE"]
    assert [r.split()[0][-6:] for r in rows] == ["140000", "130000"]
    assert resolved.err == "", "no Temporal needed for resolved incidents"
    bad = await cli("incidents", "--state", "gone", env=env)
    assert bad.code == 2
    assert bad.err.strip() == "error: unknown state 'gone'; valid: open, resolved, closed, aborted"


async def test_incidents_as_csv(env: dict[str, str]) -> None:
    got = await cli("incidents", "--state", "open", "--format", "csv", env=env)
    [row] = list(csv.DictReader(io.StringIO(got.out)))
    assert (row["incident_id"], row["severity"], row["phase"], row["events"]) == (
        SEV1,
        "SEV1",
        "",
        "5",
    )
