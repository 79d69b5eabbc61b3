"""The `orchestrator` command as on-call uses it: a real process against a real stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator.config.settings import Settings
from orchestrator.workflows.types import IncidentPhase
from tests.cli.helpers import ROOT, api_server, cli, operator_env
from tests.workflows.helpers import wait_for
from workers.stack import Stack, embedded_stack

COMMANDS = [
    [],
    ["signal"],
    ["launch"],
    ["status"],
    ["incidents"],
    ["audit"],
    ["report"],
    ["audit", "export"],
    ["audit", "verify"],
    ["audit", "digest"],
    ["audit", "query"],
    ["stats"],
    ["up"],
    ["worker"],
    ["demo"],
    ["playbooks"],
    ["playbooks", "validate"],
    ["playbooks", "list"],
    ["slo"],
    ["slo", "rules"],
    ["reviews"],
    ["reviews", "close"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
async def test_every_command_has_help(command: list[str]) -> None:
    result = await cli(*command, "--help")
    assert result.code == 0, result.err
    assert "Usage: orchestrator" in result.out
    assert "--help" in result.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["signal", "--status", "maybe"], "Invalid value for '--status'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["launch", "graceful-fallback"], "Missing option '--service'"),
        (["signal", "--service", "nope", "--slo", "x"], "unknown service 'nope'"),
        (["signal", "--service", "support-assistant", "--slo", "uptime"], "no SLO 'uptime'"),
        (
            [
                "signal",
                "--service",
                "support-assistant",
                "--slo",
                "language-gap",
                "--segment",
                "es",
            ],
            "segment must look like key=value",
        ),
        (
            ["launch", "no-such-book", "--service", "support-assistant", "--reason", "r"],
            "no operator token: set ORCHESTRATOR_TOKEN",
        ),
        (
            [
                "--temporal-address",
                "127.0.0.1:1",
                "signal",
                "--service",
                "support-assistant",
                "--slo",
                "language-gap",
            ],
            "cannot reach Temporal at 127.0.0.1:1",
        ),
        (
            ["--audit-url", "mysql://u:hunter2@x/db", "audit", "--incident", "nope"],
            "audit store URL",
        ),
        (["slo", "rules", "--service", "billing"], "unknown service 'billing'"),
        (["slo", "rules", "--format", "nagios"], "Invalid value for '--format'"),
        (["slo", "rules", "--window-scale", "60"], "window scale '60' must be above 0"),
        (["slo", "rules", "--window-scale", "1/7"], "not a whole number of milliseconds"),
        (["--catalog", "/nonexistent/c.yaml", "slo", "rules"], "/nonexistent/c.yaml"),
    ],
)
async def test_bad_arguments_give_one_line_errors(args: list[str], message: str) -> None:
    result = await cli(*args)
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.err
    assert "hunter2" not in result.err


async def test_playbooks_validate_reports_file_step_and_field(tmp_path: Path) -> None:
    assert (await cli("playbooks", "validate")).code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nmatch: {dimensions: [fairness]}\nsteps:\n"
        "  - {id: one, action: flag.explode, args: {}}\n"
        "  - {id: two, action: flag.set_default, args: {variation: human-queue}}\n"
    )
    result = await cli("playbooks", "validate", str(bad))
    assert result.code == 1
    assert f"{bad}: steps[0] (one).action" in result.err
    assert "flag.explode" in result.err
    assert f"{bad}: steps[1] (two).args.flag" in result.err


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    settings = Settings(
        state_dir=tmp_path / "state",
        catalog_path=ROOT / "catalog" / "catalog.yaml",
        playbooks_path=ROOT / "playbooks",
        sdk_poll_interval=0.1,
    )
    async with embedded_stack(settings, fixed_ports=False) as running:
        yield running


async def test_on_call_flow_through_the_cli(stack: Stack) -> None:
    async with api_server(stack.runtime, stack.client) as url:
        await _on_call_flow(stack, url)


async def _on_call_flow(stack: Stack, url: str) -> None:
    common = [
        "--temporal-address",
        stack.settings.temporal_address,
        "--state-dir",
        str(stack.settings.state_dir),
    ]
    sent = await cli(
        *common,
        "signal",
        "--service",
        "support-assistant",
        "--slo",
        "language-gap",
        "--segment",
        "language=es",
        "--observed",
        "7.4",
        "--burn-rate",
        "9.2",
    )
    assert sent.code == 0, sent.err
    incident = "incident-support-assistant--language-gap"
    assert f"accepted: incident {incident}" in sent.out
    await wait_for(stack.client, incident, IncidentPhase.MONITORING)

    status = await cli(*common, "status", incident)
    assert status.code == 0, status.err
    assert "phase     monitoring (firing)" in status.out
    assert "severity  SEV2" in status.out
    assert "route-segment-to-humans" in status.out
    assert "effect    route-segment-to-humans temporary:" in status.out

    listed = await cli(*common, "incidents")
    assert incident in listed.out

    # A launch into the running incident runs there (no second incident, no lost launch).
    into = await cli(
        *common,
        "launch",
        "graceful-fallback",
        "--service",
        "support-assistant",
        "--slo",
        "language-gap",
        "--segment",
        "language=es",
        "--reason",
        "add the graceful fallback",
        env=operator_env(url, "lead.sre"),
    )
    assert into.code == 0, into.err
    assert into.out.startswith("launching: incident " + incident), into.out

    launched = await cli(
        *common,
        "launch",
        "graceful-fallback",
        "--service",
        "support-assistant",
        "--slo",
        "task-success",
        "--segment",
        "language=es",
        "--reason",
        "CSAT down for Spanish speakers",
        env=operator_env(url, "maria.oncall"),
    )
    unknown = await cli(
        *common,
        "launch",
        "no-such-book",
        "--service",
        "support-assistant",
        "--reason",
        "r",
        env=operator_env(url, "maria.oncall"),
    )
    assert unknown.code == 2 and "unknown playbook 'no-such-book'" in unknown.err
    assert launched.code == 0, launched.err
    manual = "incident-support-assistant--task-success"
    await wait_for(stack.client, manual, IncidentPhase.MONITORING)

    for slo in ("language-gap", "task-success"):
        done = await cli(
            *common,
            "signal",
            "--service",
            "support-assistant",
            "--slo",
            slo,
            "--segment",
            "language=es",
            "--status",
            "resolved",
        )
        assert done.code == 0, done.err
    await wait_for(stack.client, incident, IncidentPhase.RESOLVED)
    await wait_for(stack.client, manual, IncidentPhase.RESOLVED)

    first = await cli(*common, "audit", "--incident", incident)
    assert "lead.sre launched graceful-fallback" in first.out
    timeline = await cli(*common, "audit", "--incident", manual)
    assert timeline.code == 0, timeline.err
    assert "manual_launch" in timeline.out
    assert "maria.oncall launched graceful-fallback: CSAT down for Spanish speakers" in timeline.out
    assert "verification_passed" in timeline.out
    verify = await cli(*common, "audit", "--verify")
    assert verify.code == 0
    assert verify.out.startswith("chain ok:")
