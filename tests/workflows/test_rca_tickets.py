"""The worked example with its RCA ticket in GitHub Issues, then in Jira Cloud (the local
stand-ins), chosen by settings alone (issue 13): one ticket with the review's fields and evidence;
a Jira that refuses (and echoes the token back) fails the review step with Jira's reason, and the
token is in no audit record and no incident state."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from orchestrator.config.tickets import GitHubTicketSettings, JiraTicketSettings, TicketSettings
from orchestrator.secrets import Secret
from orchestrator.workflows.types import IncidentPhase
from tests.providers.fake_github import FakeGitHub
from tests.providers.fake_jira import FakeJira, error
from tests.workflows.conftest import HarnessFactory
from tests.workflows.signals import SPANISH, breach

SLO = "language-gap"
WORKED_EXAMPLE = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}  # SEV2
TOKEN = "github_pat_11WORKFLOW0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
JIRA_TOKEN = "ATATT3xFfGF0workflow0123456789abcdefABCDEF0123456789=ABCD1234"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=TOKEN, repo="acme/cx-incidents")
    with fake.running():
        yield fake


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira(email="rca@acme.example", token=JIRA_TOKEN, project="CXOPS")
    with fake.running():
        yield fake


async def test_the_worked_example_opens_its_review_as_one_github_issue(
    make_harness: HarnessFactory, github: FakeGitHub
) -> None:
    chosen = GitHubTicketSettings(Secret(TOKEN), "acme/cx-incidents", api_url=github.url)
    async with make_harness(tickets=TicketSettings("github", github=chosen)) as harness:
        inc = await harness.submit(breach(SLO, **WORKED_EXAMPLE))
        await harness.until(inc, IncidentPhase.MONITORING)
        step = await harness.step(inc, "open-fairness-review")
        assert step.status == "done"
        assert await harness.reviews() == [], "not in the local ticket file"
        timeline = json.dumps([e.model_dump(mode="json") for e in await harness.timeline(inc)])
    [issue] = github.issues.values()
    assert "cx-ai-platform" in issue["body"] and "3 points" in issue["body"]
    runbook = "https://runbooks.example.com/support-assistant/language-gap"
    assert f"Evidence link: {runbook}" in issue["body"], "the SLO's runbook"
    [evidence] = github.comments[1]
    assert "answer-prompt-v42" in evidence["body"], "the rollback is in the evidence"
    assert "acme/cx-incidents#1" in timeline
    assert TOKEN not in timeline


async def test_a_refusing_jira_fails_the_review_step_without_its_token_anywhere(
    make_harness: HarnessFactory, jira: FakeJira
) -> None:
    chosen = JiraTicketSettings(jira.url, "rca@acme.example", Secret(JIRA_TOKEN), "CXOPS")
    jira.fail_next(error(403, f"No permission; you sent Authorization: {jira.basic}"), times=99)
    async with make_harness(tickets=TicketSettings("jira", jira=chosen)) as harness:
        inc = await harness.submit(breach(SLO, **WORKED_EXAMPLE))
        final = await harness.result(inc)
        timeline = json.dumps([e.model_dump(mode="json") for e in await harness.timeline(inc)])
    assert final.phase is IncidentPhase.FAILED
    assert "open-fairness-review failed" in (final.error or "")
    assert "HTTP 403: No permission" in (final.error or "")
    basic = jira.basic.removeprefix("Basic ")
    for text in (timeline, final.model_dump_json()):
        assert JIRA_TOKEN not in text and basic not in text
