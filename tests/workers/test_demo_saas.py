"""``make demo-saas``: the worked example with its flags in LaunchDarkly (the local server in
tests/providers), chosen by configuration only: writes by semantic patch through the REST adapter,
verification through the real SDK streaming, so a change is verified well within a second; the
prompt rollback through a real MLflow tracking server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import AuditKind

ROOT = Path(__file__).resolve().parents[2]


async def test_the_demo_runs_on_launchdarkly_and_verifies_through_the_stream(
    tmp_path: Path,
) -> None:
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.local_saas", "--state-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert "a user with language=es is served 'human-queue'" in out, out
    assert "a user with language=en is served 'human-queue'" not in out, out
    assert "semantic patches (addRule" in out and "removeRule" in out, out
    assert "1 streaming connection(s)" in out, out
    assert "GitHub Issues: 2 RCA issue(s)" in out, out  # one review per incident, none twice
    assert "Slack: 2 incident message(s)" in out, out  # one root per incident, the rest threaded
    assert "PagerDuty: 0 alert(s)" in out, out  # the worked example is SEV2/SEV3: nobody paged
    # The prompt rollback moved the champion alias on the real MLflow server; the model, whose
    # rollback waits for the fallback first, still serves its current version.
    assert "support-assistant-prompt@champion: answer-prompt-v42 -> answer-prompt-v41" in out, out
    assert "support-assistant-model@champion: assistant-model-2026-11-20 ->" in out, out

    store = open_audit_store(f"sqlite:///{tmp_path / 'demo' / 'audit.db'}")
    try:
        events = await store.events(since_seq=0, limit=10_000)
    finally:
        await store.close()
    applied = next(
        e
        for e in events
        if e.kind is AuditKind.EFFECT_APPLIED and e.data.get("step") == "route-segment-to-humans"
    )
    verified = next(
        e
        for e in events
        if e.kind is AuditKind.VERIFICATION_PASSED
        and e.data.get("step") == "verify-segment"
        and e.incident_id == applied.incident_id
    )
    # The SDK streams the change: verified long before a 30 s poll could have seen it.
    assert (verified.at - applied.at).total_seconds() < 1.0
