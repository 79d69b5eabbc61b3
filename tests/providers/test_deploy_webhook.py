"""The generic deploy webhook through its real HTTP adapter (httpx), configured by the example
files of docs/examples/, against local Argo CD and GitHub Actions APIs
(tests/providers/fake_cicd.py): state by JSON path, pins and scales compared and set by reading
first and read back after, an asynchronous dispatch waited for, freezes through the webhook with
the record kept locally, each documented error class, a timeout, a 429 with Retry-After, and no
token in any message or log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.config.deploy import parse_deploy_webhook
from orchestrator.config.env import Env
from orchestrator.domain.ops_models import FreezeRequest
from orchestrator.errors import (
    PERMANENT_ERROR_TYPE,
    NotFoundError,
    ProviderError,
    RateLimitedError,
)
from orchestrator.providers.deploy_webhook import DeployWebhook
from orchestrator.providers.releases import LocalReleaseFreezes
from orchestrator.providers.webhook_freezes import WebhookReleaseFreezes
from tests.providers.fake_cicd import App, FakeCiCd, argo_error, gh_error
from tests.providers.fake_http import Reply, Waits

ARGO_TOKEN = "eyJhbGciOiJIUzI1NiJ9.ArgoProjectRoleT0ken0123.S1gnatureArgoCD0123456789"
GH_TOKEN = "github_pat_11DEPLOY0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
SERVICE, COMPONENT = "support-assistant", "prompt"
APP = f"{SERVICE}-{COMPONENT}"
NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeCiCd]:
    server = FakeCiCd(argo_token=ARGO_TOKEN, gh_token=GH_TOKEN, repo="acme/cx-deploy")
    server.apps[APP] = App("answer-prompt-v43", history=["answer-prompt-v42"])
    server.deploy(APP, "answer-prompt-v42")
    server.deploy(APP, "answer-prompt-v43")
    with server.running():
        yield server


def example(
    http: httpx.AsyncClient,
    fake: FakeCiCd,
    name: str,
    *,
    waits: Waits | None = None,
    argo_token: str = ARGO_TOKEN,
) -> DeployWebhook:
    """The docs/examples file ``name``, its hosts pointed at the local server."""
    text = (EXAMPLES / f"deploy-webhook-{name}.yaml").read_text()
    text = text.replace("https://argocd.example.com", fake.url)
    text = text.replace("https://api.github.com", fake.url)
    env = Env({"ARGOCD_TOKEN": argo_token, "GITHUB_DEPLOY_TOKEN": GH_TOKEN})
    settings = parse_deploy_webhook(text, env)
    return DeployWebhook(
        http, settings.spec, settings.secrets, sleep=Waits() if waits is None else waits
    )


async def test_argo_state_reads_the_mapped_fields(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    state = await example(http, fake, "argocd").state(SERVICE, COMPONENT)
    assert (state.version, state.previous, state.replicas) == (
        "answer-prompt-v43",
        "answer-prompt-v42",
        2,
    )
    assert fake.requests[0].headers["Authorization"] == f"Bearer {ARGO_TOKEN}"
    assert fake.requests[0].path == f"/api/v1/applications/{APP}"


async def test_argo_pin_syncs_and_is_read_back(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    deploy = example(http, fake, "argocd")
    after = await deploy.pin(SERVICE, COMPONENT, "answer-prompt-v42", ref="inc/rollback")
    assert after.version == "answer-prompt-v42" and after.previous == "answer-prompt-v43"
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests] == [
        ("GET", APP),
        ("POST", "sync"),
        ("GET", APP),
    ]
    assert fake.requests[1].json() == {
        "revision": "answer-prompt-v42",
        "prune": False,
        "dryRun": False,
    }


async def test_a_repeat_or_a_moved_component_sends_no_change(
    http: httpx.AsyncClient, fake: FakeCiCd
) -> None:
    deploy = example(http, fake, "argocd")
    again = await deploy.pin(SERVICE, COMPONENT, "answer-prompt-v43", ref="r")  # serves it
    moved = await deploy.pin(SERVICE, COMPONENT, "v1", ref="r", if_current="answer-prompt-v40")
    assert again.version == moved.version == "answer-prompt-v43"
    assert [r.method for r in fake.requests] == ["GET", "GET"]  # read, nothing written


async def test_argo_scale_patches_and_is_read_back(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    deploy = example(http, fake, "argocd")
    after = await deploy.scale(SERVICE, COMPONENT, 5, ref="r", if_current=2)
    assert after.replicas == 5 and fake.apps[APP].replicas == 5
    patch = fake.requests[1]
    assert patch.method == "PATCH" and patch.json()["patchType"] == "merge"
    assert '"value": "5"' in patch.json()["patch"]


async def test_a_dispatched_rollback_is_waited_for(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    fake.lag_reads = 2  # the workflow run deploys after two more reads
    waits = Waits()
    deploy = example(http, fake, "github-actions", waits=waits)
    after = await deploy.pin(SERVICE, COMPONENT, "answer-prompt-v41", ref="inc/rollback")
    assert after.version == "answer-prompt-v41" and after.previous == "answer-prompt-v43"
    assert waits == [15.0, 15.0]
    [(workflow, inputs)] = fake.dispatches
    assert workflow == "rollback.yml"
    assert inputs == {
        "service": SERVICE,
        "component": COMPONENT,
        "version": "answer-prompt-v41",
        "ref": "inc/rollback",
    }


async def test_a_run_that_never_deploys_returns_the_unchanged_state(
    http: httpx.AsyncClient, fake: FakeCiCd
) -> None:
    """The caller verifies by the returned state: the rollback activity fails "not verified"."""
    fake.lag_reads = 99
    waits = Waits()
    deploy = example(http, fake, "github-actions", waits=waits)
    after = await deploy.pin(SERVICE, COMPONENT, "answer-prompt-v41", ref="r")
    assert after.version == "answer-prompt-v43" and len(waits) == 19
    assert len(fake.dispatches) == 1, "dispatched once, then only read"


async def test_a_webhook_without_scale_refuses_it(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    with pytest.raises(ProviderError) as caught:
        await example(http, fake, "github-actions").scale(SERVICE, COMPONENT, 3, ref="r")
    assert not caught.value.retryable and "no scale operation" in str(caught.value)
    assert not fake.requests


async def test_freezes_go_through_the_webhook_and_stay_on_record(
    http: httpx.AsyncClient, fake: FakeCiCd, tmp_path: Path
) -> None:
    record = LocalReleaseFreezes(tmp_path / "freezes.json")
    freezes = WebhookReleaseFreezes(example(http, fake, "github-actions"), record)
    request = FreezeRequest(
        id="inc-1/freeze",
        service=SERVICE,
        component=COMPONENT,
        reason="prompt rolled back",
        owner="cx-ai-platform",
        until=NOW + timedelta(days=7),
    )
    fake.fail_next(Reply(503, {"message": "unavailable"}))
    with pytest.raises(ProviderError) as failed:
        await freezes.freeze(request, NOW)
    assert failed.value.retryable and await record.get(request.id) is None  # nothing recorded
    frozen = await freezes.freeze(request, NOW)
    assert await freezes.freeze(request, NOW) == frozen  # the repeat sends nothing
    assert fake.locks == {APP: "inc-1/freeze"}
    assert [f.id for f in await freezes.active(SERVICE, COMPONENT, NOW)] == ["inc-1/freeze"]
    lifted = await freezes.lift(request.id, by="ana.sre", reason="review done", now=NOW)
    await freezes.lift(request.id, by="ana.sre", reason="review done", now=NOW)
    assert lifted.lifted_by == "ana.sre" and fake.locks == {}
    assert [w for w, _ in fake.dispatches] == ["freeze.yml", "unfreeze.yml"]
    assert fake.dispatches[0][1]["until"] == "2026-12-13T03:00:00+00:00"
    with pytest.raises(NotFoundError):
        await freezes.lift("unknown", by="x", reason="y", now=NOW)


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (lambda f: f.apps.clear(), 404),  # an unknown component
        (lambda f: f.denied.add("sync"), 403),  # the role lacks applications, sync
        (lambda f: setattr(f, "argo_token", "another"), 401),
        (lambda f: f.fail_next(argo_error(400, 3, "bad request")), 400),
    ],
)
async def test_4xx_are_refused_for_good(
    http: httpx.AsyncClient, fake: FakeCiCd, setup: object, status: int
) -> None:
    setup(fake)  # type: ignore[operator]
    with pytest.raises(ProviderError) as caught:
        await example(http, fake, "argocd").pin(SERVICE, COMPONENT, "v1", ref="r")
    assert not caught.value.retryable and f"HTTP {status}" in str(caught.value)
    assert permanent_or_retryable(caught.value).type == PERMANENT_ERROR_TYPE


async def test_a_refused_dispatch_names_githubs_reason(
    http: httpx.AsyncClient, fake: FakeCiCd
) -> None:
    fake.fail_next(Reply(200, []))  # the read: no deployment yet
    fake.fail_next(gh_error(422, "Unexpected inputs provided: ['ref']"))
    with pytest.raises(ProviderError) as caught:
        await example(http, fake, "github-actions").pin(SERVICE, COMPONENT, "v1", ref="r")
    assert "answer has no [0]" in str(caught.value) and not caught.value.retryable
    with pytest.raises(ProviderError) as refused:
        await example(http, fake, "github-actions").pin(SERVICE, COMPONENT, "v1", ref="r")
    assert "HTTP 422: " in str(refused.value) and "Unexpected inputs" in str(refused.value)
    assert not refused.value.retryable


@pytest.mark.parametrize("status", [408, 500, 502, 503])
async def test_408_and_5xx_are_retryable(
    http: httpx.AsyncClient, fake: FakeCiCd, status: int
) -> None:
    fake.fail_next(argo_error(status, 14, "unavailable"))
    with pytest.raises(ProviderError) as caught:
        await example(http, fake, "argocd").state(SERVICE, COMPONENT)
    assert caught.value.retryable and f"HTTP {status}" in str(caught.value)
    assert not permanent_or_retryable(caught.value).non_retryable


async def test_429_waits_what_retry_after_says(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    fake.fail_next(Reply(429, {"message": "slow down"}, {"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as caught:
        await example(http, fake, "argocd").pin(SERVICE, COMPONENT, "v1", ref="r")
    assert caught.value.retry_after_seconds == 7.0
    delay = permanent_or_retryable(caught.value).next_retry_delay
    assert delay == timedelta(seconds=7)


async def test_a_timeout_is_retryable(fake: FakeCiCd) -> None:
    fake.hang_next(1.0)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        with pytest.raises(ProviderError) as caught:
            await example(impatient, fake, "argocd").state(SERVICE, COMPONENT)
    assert caught.value.retryable and "Timeout" in str(caught.value)


async def test_no_token_in_any_message_repr_or_log(http: httpx.AsyncClient, fake: FakeCiCd) -> None:
    echo = f"invalid token {ARGO_TOKEN}; you sent Authorization: Bearer {ARGO_TOKEN}"
    texts: list[str] = []
    deploy = example(http, fake, "argocd")
    with structlog.testing.capture_logs() as logs:
        for reply in (argo_error(401, 16, echo), argo_error(503, 14, echo), Reply(429, echo)):
            fake.fail_next(reply)
            with pytest.raises(ProviderError) as caught:
                await deploy.pin(SERVICE, COMPONENT, "v1", ref="r")
            texts += [str(caught.value), repr(caught.value)]
            texts.append(str(permanent_or_retryable(caught.value)))
        texts.append(repr(deploy))
    texts.append(str(logs))
    assert not [t for t in texts if ARGO_TOKEN in t]
