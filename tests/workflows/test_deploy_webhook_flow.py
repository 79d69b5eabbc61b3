"""The worked example with the deploy webhook (Argo CD, docs/examples/deploy-webhook-argocd.yaml)
and the signed outgoing webhook chosen by settings alone (issue 13), against the local Argo CD
and a receiver that verifies every delivery (tests/providers/fake_*.py), on the time-skipping
server: the prompt's rollback is a sync of the Argo CD Application, read back and audited; the
incident's notices reach the receiver signed, each once; no token or secret in the audit."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.config.deploy import DeploySettings, parse_deploy_webhook
from orchestrator.config.env import Env
from orchestrator.config.integrations import WebhookSettings
from orchestrator.secrets import Secret
from orchestrator.workflows.types import IncidentPhase
from tests.providers.fake_cicd import App, FakeCiCd
from tests.providers.fake_notice_receiver import FakeNoticeReceiver
from tests.workflows.conftest import HarnessFactory
from tests.workflows.signals import SPANISH, breach, recovered

SLO = "language-gap"
WORKED_EXAMPLE = {"segment": SPANISH, "observed": 7.4, "burn": 9.2}  # SEV2
ARGO_TOKEN = "eyJhbGciOiJIUzI1NiJ9.WorkflowArgoRoleT0ken.S1gnatureArgoCD0123456789"
HMAC_KEY = "wh-S3cr3tHmacKeyOfTheWorkflowTest-1a2b3c"
ARGO_EXAMPLE = Path(__file__).resolve().parents[2] / "docs/examples/deploy-webhook-argocd.yaml"


def chosen(argo: FakeCiCd, receiver: FakeNoticeReceiver) -> dict[str, object]:
    """The settings ORCHESTRATOR_DEPLOY=webhook and ORCHESTRATOR_WEBHOOK_URL build."""
    text = ARGO_EXAMPLE.read_text().replace("https://argocd.example.com", argo.url)
    hook = parse_deploy_webhook(text, Env({"ARGOCD_TOKEN": ARGO_TOKEN}))
    return {
        "deploy": DeploySettings("webhook", hook),
        "webhook": WebhookSettings(url=receiver.hook_url, secret=Secret(HMAC_KEY)),
        "link_base_url": "https://orchestrator.example",
    }


async def test_the_rollback_syncs_argo_cd_and_the_notices_arrive_signed(
    make_harness: HarnessFactory,
) -> None:
    argo = FakeCiCd(argo_token=ARGO_TOKEN)
    argo.apps["support-assistant-prompt"] = App("answer-prompt-v42", ["answer-prompt-v41"])
    receiver = FakeNoticeReceiver(HMAC_KEY)
    with argo.running(), receiver.running():
        async with make_harness(**chosen(argo, receiver)) as h:
            assert type(h.runtime.ops.deploy).__name__ == "DeployWebhook"
            inc = await h.submit(breach(SLO, **WORKED_EXAMPLE))
            await h.until(inc, IncidentPhase.MONITORING)
            step = await h.step(inc, "rollback-prompt")
            assert await h.version("prompt") == "answer-prompt-v42", "not the local file"
            await h.submit(recovered(SLO))
            assert (await h.result(inc)).phase is IncidentPhase.RESOLVED
            timeline = json.dumps([e.model_dump(mode="json") for e in await h.timeline(inc)])
            await h.runtime.audit.verify()
    assert step.status == "done"
    assert argo.apps["support-assistant-prompt"].revision == "answer-prompt-v41"
    syncs = [r for r in argo.requests if r.path.endswith("/sync")]
    assert [s.json()["revision"] for s in syncs] == ["answer-prompt-v41"]
    after_sync = argo.requests[argo.requests.index(syncs[0]) + 1]
    assert after_sync.method == "GET", "the pin is read back"
    assert "prompt pinned answer-prompt-v42 -> answer-prompt-v41; provider serves it" in timeline

    assert not receiver.refusals, "every delivery verified and fresh"
    types = [n["type"] for n in receiver.notices]
    assert types[0] == "incident_opened" and types[-1] == "incident_resolved"
    assert receiver.notices[-1]["final"] is True
    assert any("answer-prompt-v41" in n["summary"] for n in receiver.notices)
    assert len({n["id"] for n in receiver.notices}) == len(receiver.notices)
    for secret in (ARGO_TOKEN, HMAC_KEY):
        assert secret not in timeline
        assert not [n for n in receiver.notices if secret in json.dumps(n)]


async def test_a_refused_sync_fails_the_rollback_without_the_token_anywhere(
    make_harness: HarnessFactory,
) -> None:
    """Argo CD's role lacks ``applications, sync`` (and the answer echoes the token): the
    rollback step fails at once with Argo CD's reason; the token is in no audit record, no
    incident state and no notice."""
    argo = FakeCiCd(argo_token=ARGO_TOKEN)
    argo.apps["support-assistant-prompt"] = App("answer-prompt-v42", ["answer-prompt-v41"])
    argo.denied.add("sync")
    argo.echo = f" (you sent Authorization: Bearer {ARGO_TOKEN})"
    receiver = FakeNoticeReceiver(HMAC_KEY)
    with argo.running(), receiver.running():
        async with make_harness(**chosen(argo, receiver)) as h:
            inc = await h.submit(breach(SLO, **WORKED_EXAMPLE))
            final = await h.result(inc)
            timeline = json.dumps([e.model_dump(mode="json") for e in await h.timeline(inc)])
    assert final.phase is IncidentPhase.FAILED
    assert "rollback-prompt failed" in (final.error or "")
    assert "HTTP 403" in (final.error or "") and "permission denied" in (final.error or "")
    assert len([r for r in argo.requests if r.path.endswith("/sync")]) == 1, "not retried"
    assert argo.apps["support-assistant-prompt"].revision == "answer-prompt-v42"
    notices = json.dumps(receiver.notices)
    assert "step_failed" in notices
    for text in (timeline, final.model_dump_json(), notices):
        assert ARGO_TOKEN not in text and HMAC_KEY not in text
