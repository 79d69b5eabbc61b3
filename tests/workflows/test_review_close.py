"""Closing an incident review when it is done (issue 13): through the operator API and the CLI,
in the ticket system the settings chose (here the local GitHub Issues), read back, recorded once
under the caller's principal, and shown as closed in the incident report."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from orchestrator.audit.report import build_report
from orchestrator.audit.report_render import render_report
from orchestrator.config.tickets import GitHubTicketSettings, TicketSettings
from orchestrator.secrets import Secret
from orchestrator.workflows.types import IncidentPhase
from tests.cli.helpers import api_server, cli, operator_env
from tests.ingest.conftest import make_settings
from tests.ingest.operators import as_, operator_client, principals
from tests.providers.fake_github import FakeGitHub
from tests.workflows.conftest import HarnessFactory
from tests.workflows.signals import SPANISH, breach
from workers.api import build_app

TOKEN = "github_pat_11REVIEWCLOSE0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCD"
REPO = "acme/cx-incidents"
WORKED_EXAMPLE = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}
CLOSE = "/v1/reviews/acme/cx-incidents%231/close"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(token=TOKEN, repo=REPO)
    with fake.running():
        yield fake


async def test_a_review_is_closed_through_the_api_once_and_shows_in_the_report(
    make_harness: HarnessFactory, github: FakeGitHub
) -> None:
    chosen = GitHubTicketSettings(Secret(TOKEN), REPO, api_url=github.url)
    async with make_harness(tickets=TicketSettings("github", github=chosen)) as harness:
        inc = await harness.submit(breach("language-gap", **WORKED_EXAMPLE))
        await harness.until(inc, IncidentPhase.MONITORING)
        app = build_app(harness.runtime, harness.env.client, make_settings(), principals())
        async with operator_client(app) as api:
            shown = await api.get("/v1/reviews/acme/cx-incidents%231", headers=as_("sam.viewer"))
            assert shown.status_code == 200, shown.text
            assert shown.json()["status"] == "open"
            body = {"resolution": "prompt v42 shipped without the es eval set; gate added"}
            refused = await api.post(CLOSE, json=body, headers=as_("sam.viewer"))
            assert refused.status_code == 403, "closing needs the responder role"
            first = await api.post(CLOSE, json=body, headers=as_("maria.oncall"))
            again = await api.post(CLOSE, json=body, headers=as_("lead.sre"))
            for bad, code in (
                ("/v1/reviews/acme/cx-incidents%2399/close", 404),
                ("/v1/reviews/%20drop%3Btable/close", 422),
            ):
                answer = await api.post(bad, json=body, headers=as_("maria.oncall"))
                assert answer.status_code == code, answer.text
            empty = await api.post(CLOSE, json={"resolution": ""}, headers=as_("maria.oncall"))
            assert empty.status_code == 422
        timeline = await harness.timeline(inc)
    assert first.status_code == 200, first.text
    assert first.json()["ticket"]["status"] == "closed"
    assert first.json()["closed_by"] == "maria.oncall"
    assert again.status_code == 200 and again.json()["closed_by"] == "maria.oncall"
    assert again.json()["audit_seq"] == first.json()["audit_seq"], "recorded once"
    [issue] = github.issues.values()
    assert issue["state"] == "closed"
    resolutions = [c for c in github.comments[1] if "es eval set" in c["body"]]
    assert len(resolutions) == 1, "one resolution comment, however often it is closed"
    closes = [e for e in timeline if e.data.get("action") == "rca.close_review"]
    assert [(e.actor, e.data["ticket"]) for e in closes] == [("maria.oncall", f"{REPO}#1")]
    markdown = render_report(build_report(timeline))
    assert "Status: closed" in markdown and "by maria.oncall" in markdown
    assert TOKEN not in json.dumps([e.model_dump(mode="json") for e in timeline])


async def test_the_cli_shows_and_closes_a_review(make_harness: HarnessFactory) -> None:
    async with make_harness() as harness:
        inc = await harness.submit(breach("language-gap", **WORKED_EXAMPLE))
        await harness.until(inc, IncidentPhase.MONITORING)
        [review] = await harness.reviews()
        async with api_server(harness.runtime, harness.env.client) as url:
            env = operator_env(url, "maria.oncall")
            shown = await cli("reviews", "show", review.id, env=env)
            closed = await cli(
                "reviews", "close", review.id, "--resolution", "eval gate added", env=env
            )
            missing = await cli("reviews", "close", "RCA-99", "--resolution", "x", env=env)
        [stored] = await harness.reviews()
    assert shown.code == 0, shown.err
    assert f"{review.id}  open" in shown.out
    assert closed.code == 0, closed.err
    assert "closed: eval gate added" in closed.out and "closed by maria.oncall" in closed.out
    assert stored.status == "closed" and stored.resolution == "eval gate added"
    assert missing.code != 0 and "RCA-99" in missing.err
    assert "Traceback" not in missing.err
