"""The policy commands as a real process: plan, schema, approve/deny/abort, fast-track,
kill-switch, freezes (Temporal-bound ones against the session's real dev server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client
from temporalio.worker import Worker

from orchestrator.config.playbook_files import playbook_paths
from orchestrator.domain.signals import BreachSignal
from orchestrator.workflows.types import IncidentPhase
from tests.cli.helpers import ROOT, api_server, cli, operator_env
from tests.workflows.helpers import occurrence_of, wait_for
from workers.runtime import Runtime

FAIRNESS = {
    "service": "support-assistant",
    "slo": "language-gap",
    "dimension": "fairness",
    "segment": {"key": "language", "value": "es"},
    "observed": 7.4,
    "burn_rate": 9.2,
}


@pytest.mark.parametrize(
    "command",
    [
        ["approve"],
        ["deny"],
        ["abort"],
        ["fast-track"],
        ["safety"],
        ["safety", "kill-switch"],
        ["safety", "kill-switch", "on"],
        ["token"],
        ["token", "create"],
        ["token", "hash"],
        ["freezes"],
        ["freezes", "lift"],
        ["playbooks", "plan"],
        ["playbooks", "schema"],
    ],
    ids=" ".join,
)
async def test_every_policy_command_has_help(command: list[str]) -> None:
    result = await cli(*command, "--help")
    assert result.code == 0, result.err
    assert "Usage: orchestrator" in result.out


async def test_plan_prints_severity_playbook_and_rendered_steps(tmp_path: Path) -> None:
    signal = tmp_path / "signal.json"
    signal.write_text(json.dumps(FAIRNESS))
    result = await cli("playbooks", "plan", "--signal", str(signal))
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith("dry run: nothing was changed")
    assert "severity  SEV2: impact 3" in out
    assert "playbook  fairness-language-gap" in out
    assert "[skip] page-oncall (page.oncall): condition not met: severity == 'SEV1'" in out
    assert '"values": ["es"], "variation": "human-queue"' in out
    assert "temporary: undone when the SLO recovers" in out
    assert "resolution: hold-down 15s" in out

    everyone = {**FAIRNESS, "segment": None, "burn_rate": 16.0}
    signal.write_text(json.dumps(everyone))
    result = await cli("playbooks", "plan", "--signal", str(signal), "--json")
    plan = json.loads(result.out)
    assert plan["severity"]["severity"] == "SEV1"
    rollback = next(s for s in plan["steps"] if s["id"] == "rollback-prompt")
    assert rollback["approval"]["on_timeout"] == "escalate"
    assert rollback["args"]["component"] == "prompt"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read a signal"),
        ('{"service": "support-assistant"}', "slo: Field required"),
        (json.dumps({**FAIRNESS, "service": "nope"}), "unknown service 'nope'"),
    ],
)
async def test_plan_bad_signals_are_one_line_errors(
    tmp_path: Path, content: str, message: str
) -> None:
    signal = tmp_path / "signal.json"
    signal.write_text(content)
    result = await cli("playbooks", "plan", "--signal", str(signal))
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1


async def test_schema_validates_every_shipped_playbook_and_rejects_bad_ones() -> None:
    import jsonschema  # a dev dependency

    result = await cli("playbooks", "schema")
    assert result.code == 0, result.err
    schema = json.loads(result.out)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    files, _ = playbook_paths(ROOT / "playbooks")
    assert len(files) >= 8
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path.name, [e.message for e in errors])
    bad = yaml.safe_load((ROOT / "playbooks" / "latency-ttft.yaml").read_text())
    bad["steps"][5]["args"]["replicas"] = "many"
    bad["steps"][0]["action"] = "page.everyone"
    bad["steps"][1]["approval"] = {"timeout_seconds": 60}
    where = {tuple(e.absolute_path): e.message for e in validator.iter_errors(bad)}
    assert "'many' is not valid" in where[("steps", 5, "args", "replicas")]
    assert "'page.everyone' is not one of" in where[("steps", 0, "action")]
    assert ("steps", 1, "approval") in where


async def test_kill_switch_through_the_api_and_freezes(
    runtime: Runtime, temporal_client: Client, tmp_path: Path
) -> None:
    state = ["--state-dir", str(tmp_path)]
    async with api_server(runtime, temporal_client) as url:
        admin, approver = operator_env(url, "root.admin"), operator_env(url, "lead.sre")
        switch = ["safety", "kill-switch"]
        refused = await cli(*state, *switch, "on", "--reason", "x", env=approver)
        assert refused.code == 2 and "needs the admin role" in refused.err
        on = await cli(*state, *switch, "on", "--reason", "bad deploy day", env=admin)
        assert on.code == 0 and "kill switch ON" in on.out and "bad deploy day" in on.out
        assert "by root.admin" in (await cli(*state, *switch, "status", env=approver)).out
        assert (await runtime.ops.safety.kill_switch()).on  # every worker's ledger sees it
        off = await cli(*state, *switch, "off", "--reason", "over", env=admin)
        assert off.code == 0 and "kill switch off" in off.out
        assert [e.actor for e in await runtime.audit.timeline("safety")] == ["root.admin"] * 2
    gone = await cli(*state, *switch, "status", env=admin)
    assert gone.code == 2 and "cannot reach the API" in gone.err
    no_token = await cli(*state, *switch, "status")
    assert no_token.code == 2 and "no operator token" in no_token.err
    assert "no release freezes in force" in (await cli(*state, "freezes", "list")).out
    lift = await cli(*state, "freezes", "lift", "nope", "--reason", "x")
    assert lift.code == 2 and "no release freeze 'nope'" in lift.err


async def test_approve_deny_abort_and_fast_track_against_a_real_server(
    runtime: Runtime, temporal_client: Client, worker: Worker
) -> None:
    async with api_server(runtime, temporal_client) as url:
        await _decisions_through_the_cli(runtime, temporal_client, url)


async def _decisions_through_the_cli(runtime: Runtime, temporal_client: Client, url: str) -> None:
    settings = runtime.settings
    lead, oncall = operator_env(url, "lead.sre"), operator_env(url, "maria.oncall")
    env = lead
    common = ["--state-dir", str(settings.state_dir)]
    everyone_sev1 = BreachSignal(
        service="support-assistant",
        slo="language-gap",
        dimension="fairness",
        observed=7.4,
        burn_rate=16.0,
        source="test",
    )
    incident = (await runtime.submitter(temporal_client).submit(everyone_sev1)).incident_id
    await wait_for(temporal_client, incident, IncidentPhase.AWAITING_APPROVAL)

    wrong = await cli(*common, "approve", incident, "--step", "freeze", env=env)
    assert wrong.code == 2
    assert "step 'freeze' is not waiting for approval; 'rollback-prompt' is" in wrong.err
    not_an_approver = await cli(*common, "approve", incident, env=oncall)
    assert not_an_approver.code == 2 and "needs the approver role" in not_an_approver.err
    approved = await cli(*common, "approve", incident, env=env)
    assert approved.code == 0, approved.err
    occurrence = await occurrence_of(temporal_client, incident)
    assert approved.out.startswith(f"granted: rollback-prompt ({occurrence})")
    await wait_for(temporal_client, incident, IncidentPhase.MONITORING)
    nothing = await cli(*common, "deny", incident, "--reason", "late", env=env)
    assert nothing.code == 2 and "no step of this incident is waiting" in nothing.err
    aborted = await cli(*common, "abort", incident, "--reason", "taking over", env=oncall)
    assert aborted.code == 0 and aborted.out.startswith("aborting:")
    await wait_for(temporal_client, incident, IncidentPhase.ABORTED)

    fast = await cli(
        *common,
        "fast-track",
        "rollback-and-freeze",
        "--service",
        "support-assistant",
        "--slo",
        "task-success",
        "--component",
        "model",
        "--reason",
        "bad model release",
        env=env,
    )
    assert fast.code == 0, fast.err
    assert "(fast-track)" in fast.out
    launched = f"{settings.workflow_id_prefix}-support-assistant--task-success"
    state = await wait_for(temporal_client, launched, IncidentPhase.MONITORING)
    assert state.fast_track_by == "lead.sre"
    model = await runtime.ops.deploy.state("support-assistant", "model")
    assert model.version == "assistant-model-2026-10-02"
    done = await cli(*common, "abort", launched, "--reason", "done", env=env)
    assert done.code == 0, done.err
