"""Open incidents survive an upgrade: every stored history replays on today's workflow code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from orchestrator.workflows.types import INCIDENT_WORKFLOW
from workers.runtime import WORKFLOWS, workflow_runner

HISTORIES = sorted((Path(__file__).parent / "histories").rglob("*.json.gz"))
"""Every set, one folder per version of the workflow code that recorded it (histories/README.md)."""


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.name, json.loads(gzip.decompress(path.read_bytes())))


def test_there_are_stored_histories_of_open_and_ended_incidents() -> None:
    for version in sorted({p.parent for p in HISTORIES}):
        names = [p.name for p in HISTORIES if p.parent == version]
        assert sum(n.endswith("-open.json.gz") for n in names) >= 50, version.name
        assert sum(n.endswith("-final.json.gz") for n in names) >= 50, version.name


async def test_every_stored_history_replays() -> None:
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )
    failures = []
    for path in HISTORIES:
        result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(f"{path.name}: {result.replay_failure}")
    assert not failures, "histories that no longer replay:\n" + "\n".join(failures)


@workflow.defn(name=INCIDENT_WORKFLOW, sandboxed=False)
class IdleIncident:
    """Workflow code that schedules nothing: every stored history must fail to replay on it."""

    @workflow.run
    async def run(self, _: object) -> None:
        await workflow.wait_condition(lambda: False)


@pytest.mark.parametrize("path", HISTORIES[:1], ids=lambda p: p.name)
async def test_a_history_recorded_by_other_code_is_caught(path: Path) -> None:
    """The replay check can fail: the same history against code that does something else."""
    replayer = Replayer(workflows=[IdleIncident], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is not None
