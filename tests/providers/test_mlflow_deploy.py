"""The MLflow Model Registry adapter against a real ``mlflow server`` (tests/providers/
mlflow_server.py: SQLite, basic auth on): a pin moves the serving alias and records what served
before, a repeat changes nothing, an undo is compare-and-set, each documented error class, a
timeout, and the credentials in no message and no log line."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import structlog
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.deploy import DeployActivities
from orchestrator.activities.ops_types import PinInput
from orchestrator.config.files import load_catalog
from orchestrator.config.model_registry import parse_models
from orchestrator.domain.actions import PREVIOUS
from orchestrator.domain.model_registry import MlflowSettings
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError, RateLimitedError
from orchestrator.providers.deploy_routes import VersionRoutes
from orchestrator.providers.local_deploy import LocalDeployments
from orchestrator.providers.mlflow_registry import MlflowRegistry
from orchestrator.secrets import Secret
from tests.providers.fake_http import FakeHttpServer, Reply, Request
from tests.providers.mlflow_server import ROOT, MlflowServer

SERVICE = "support-assistant"
V41, V42, V43 = "answer-prompt-v41", "answer-prompt-v42", "answer-prompt-v43"


@dataclass
class Registry:
    server: MlflowServer
    model: str
    password: str
    settings: MlflowSettings

    def adapter(self, http: httpx.AsyncClient, **changes: object) -> MlflowRegistry:
        return MlflowRegistry(http, replace(self.settings, **changes))  # type: ignore[arg-type]


@pytest.fixture
def registry(mlflow_server: MlflowServer) -> Registry:
    """A prompt model of this test's own (v41, v42, v43 tagged; v4 untagged) with ``champion``
    on v42, and a user of its own with EDIT on it, as the adapter signs in."""
    suffix = uuid.uuid4().hex[:8]
    model, user, password = f"cx-prompt-{suffix}", f"orch-{suffix}", f"pw-{uuid.uuid4().hex}"
    mlflow_server.register(model, [V41, V42, V43, None], serving=2)
    mlflow_server.user(user, password, edit=(model,))
    settings = MlflowSettings(
        tracking_uri=mlflow_server.url,
        models=parse_models(f"{SERVICE}/prompt={model}"),
        username=user,
        password=Secret(password),
    )
    return Registry(mlflow_server, model, password, settings)


async def test_the_state_is_the_version_the_alias_points_at_by_its_catalog_name(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    state = await registry.adapter(http).state(SERVICE, "prompt")
    assert state.version == V42 and state.previous is None and state.pinned_by is None


async def test_a_pin_moves_the_alias_and_records_what_served_before(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    mlflow = registry.adapter(http)
    after = await mlflow.pin(SERVICE, "prompt", V41, ref="inc-1/rollback")
    assert registry.server.alias(registry.model) == "1", "champion now on version 1 (v41)"
    assert (after.version, after.previous, after.pinned_by) == (V41, V42, "inc-1/rollback")
    assert await mlflow.state(SERVICE, "prompt") == after


async def test_a_repeated_pin_changes_nothing(http: httpx.AsyncClient, registry: Registry) -> None:
    mlflow = registry.adapter(http)
    first = await mlflow.pin(SERVICE, "prompt", V41, ref="inc-1/rollback")
    again = await mlflow.pin(SERVICE, "prompt", V41, ref="inc-1/rollback-retry")
    assert again == first, "no second write: the record still names the first pin"
    assert registry.server.alias(registry.model) == "1"


async def test_an_undo_moves_back_only_while_the_pinned_version_still_serves(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    mlflow = registry.adapter(http)
    await mlflow.pin(SERVICE, "prompt", V41, ref="inc-1/rollback")
    registry.server.set_alias(registry.model, "champion", 3)  # a person ships v43 meanwhile
    left = await mlflow.pin(SERVICE, "prompt", V42, ref="inc-1/undo", if_current=V41)
    assert left.version == V43 and registry.server.alias(registry.model) == "3", "left as it is"
    assert left.previous is None, "the record no longer describes what serves"

    registry.server.set_alias(registry.model, "champion", 1)
    undone = await mlflow.pin(SERVICE, "prompt", V42, ref="inc-1/undo", if_current=V41)
    assert undone.version == V42 and registry.server.alias(registry.model) == "2"
    assert undone.previous == V41


async def test_a_version_without_the_tag_is_pinned_by_its_number_and_a_tagged_one_is_not(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    mlflow = registry.adapter(http)
    assert (await mlflow.pin(SERVICE, "prompt", "4", ref="r")).version == "4"
    with pytest.raises(
        ProviderError, match=r"tagged orchestrator\.version='answer-prompt-v41'"
    ) as e:
        await mlflow.pin(SERVICE, "prompt", "1", ref="r")
    assert not e.value.retryable and registry.server.alias(registry.model) == "4"


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown version", "no model versions tagged orchestrator.version='answer-prompt-v99'"),
        ("unknown number", "HTTP 404: RESOURCE_DOES_NOT_EXIST"),
        # MLflow's auth tells a user no more than that: a model it does not know is forbidden
        ("unknown model", "HTTP 403: Permission denied"),
        ("unknown alias", "HTTP 400: INVALID_PARAMETER_VALUE: Registered model alias"),
        ("unmapped component", "no MLflow registered model for 'retrieval'"),
    ],
)
async def test_what_the_registry_does_not_have_is_refused_at_once(
    http: httpx.AsyncClient, registry: Registry, case: str, expected: str
) -> None:
    mlflow = registry.adapter(http)
    component, version = "prompt", "answer-prompt-v99"
    if case == "unknown number":
        version = "99"
    elif case == "unknown model":
        mlflow = registry.adapter(http, models=parse_models(f"prompt={registry.model}-gone"))
    elif case == "unknown alias":
        mlflow = registry.adapter(http, models=parse_models(f"prompt={registry.model}@prod"))
    elif case == "unmapped component":
        component = "retrieval"
    with pytest.raises(ProviderError) as caught:
        await mlflow.pin(SERVICE, component, version, ref="r")
    assert expected in str(caught.value) and not caught.value.retryable
    assert registry.server.alias(registry.model) == "2", "nothing moved"


async def test_a_user_without_edit_on_the_model_is_refused_and_nothing_moves(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    reader, password = f"reader-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    registry.server.user(reader, password)  # READ only: the server's default
    mlflow = registry.adapter(http, username=reader, password=Secret(password))
    assert (await mlflow.state(SERVICE, "prompt")).version == V42, "reading needs READ only"
    with pytest.raises(ProviderError, match="HTTP 403: Permission denied") as caught:
        await mlflow.pin(SERVICE, "prompt", V41, ref="r")
    assert not caught.value.retryable and password not in str(caught.value)
    assert registry.server.alias(registry.model) == "2"


async def test_a_password_the_server_refuses_is_permanent_and_never_shown(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    secret = f"sEcReT-{uuid.uuid4().hex}"
    with pytest.raises(ProviderError, match="HTTP 401: You are not authenticated") as caught:
        await registry.adapter(http, password=Secret(secret)).state(SERVICE, "prompt")
    assert not caught.value.retryable
    assert secret not in str(caught.value) and secret not in repr(caught.value)


async def test_a_server_that_is_down_or_hangs_is_retried(
    registry: Registry, tmp_path: Path
) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hanging = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with httpx.AsyncClient(timeout=0.5) as http:
            with pytest.raises(ProviderError, match="ReadTimeout") as timed_out:
                await registry.adapter(http, tracking_uri=hanging).state(SERVICE, "prompt")
            closed = f"http://127.0.0.1:{_closed_port()}"
            with pytest.raises(ProviderError, match="ConnectError") as refused:
                await registry.adapter(http, tracking_uri=closed).pin(
                    SERVICE, "prompt", V41, ref="r"
                )
    assert timed_out.value.retryable and refused.value.retryable


class RefusingFront(FakeHttpServer):
    """Answers what the real server cannot be made to: its 429 and 5xx error bodies."""

    def handle(self, request: Request) -> Reply:
        return Reply(500, {"error_code": "INTERNAL_ERROR", "message": "unexpected"})


@pytest.fixture
def front() -> Iterator[RefusingFront]:
    server = RefusingFront()
    with server.running():
        yield server


@pytest.mark.parametrize(
    ("reply", "retryable", "rate_limited"),
    [
        (Reply(429, {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}), True, True),
        (Reply(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}), True, False),
        (Reply(500, {"error_code": "INTERNAL_ERROR", "message": "boom"}), True, False),
        (Reply(502, "<html>bad gateway</html>"), True, False),
    ],
)
async def test_rate_limits_and_server_errors_are_retried(
    http: httpx.AsyncClient,
    registry: Registry,
    front: RefusingFront,
    reply: Reply,
    retryable: bool,
    rate_limited: bool,
) -> None:
    front.fail_next(Reply(reply.status, reply.body, {"Retry-After": "2"}))
    with pytest.raises(ProviderError) as caught:
        await registry.adapter(http, tracking_uri=front.url).state(SERVICE, "prompt")
    assert caught.value.retryable is retryable
    assert isinstance(caught.value, RateLimitedError) is rate_limited
    if rate_limited:
        assert isinstance(caught.value, RateLimitedError)
        assert caught.value.retry_after_seconds == 2.0
    assert front.requests[0].headers["Authorization"].startswith("Basic ")


async def test_a_bearer_token_is_sent_and_a_proxy_refusal_echoing_it_is_scrubbed(
    http: httpx.AsyncClient, registry: Registry, front: RefusingFront
) -> None:
    """A token (MLflow behind an authenticating proxy, MLFLOW_TRACKING_TOKEN's way)."""
    token = f"mlflow-token-{uuid.uuid4().hex}"
    front.fail_next(Reply(401, f"invalid credentials: Bearer {token} ({token})"))
    mlflow = registry.adapter(http, tracking_uri=front.url, token=Secret(token), password=None)
    with pytest.raises(ProviderError, match="HTTP 401: invalid credentials") as caught:
        await mlflow.state(SERVICE, "prompt")
    assert not caught.value.retryable and token not in str(caught.value)
    assert front.requests[0].headers["Authorization"] == f"Bearer {token}"


async def test_no_credential_in_any_log_line(http: httpx.AsyncClient, registry: Registry) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    with structlog.testing.capture_logs() as logs:
        await registry.adapter(http).pin(SERVICE, "prompt", V41, ref="inc-1/rollback")
        with pytest.raises(ProviderError):
            await registry.adapter(http, password=Secret(wrong)).pin(
                SERVICE, "prompt", V42, ref="r"
            )
    moved = [line for line in logs if line["event"] == "mlflow alias moved"]
    assert moved and moved[0]["before"] == V42 and moved[0]["after"] == V41
    text = repr(logs) + repr(registry.adapter(http)) + repr(registry.settings)
    assert registry.password not in text and wrong not in text


async def test_replicas_stay_with_the_deployment_provider_and_versions_come_from_mlflow(
    http: httpx.AsyncClient, registry: Registry, tmp_path: Path
) -> None:
    local = LocalDeployments(tmp_path / "deployments.json")
    local.ensure_components(load_catalog(ROOT / "catalog" / "catalog.yaml"))
    routes = VersionRoutes(local, registry.adapter(http))
    with pytest.raises(ProviderError, match="holds versions, not replicas"):
        await registry.adapter(http).scale(SERVICE, "prompt", 3, ref="r")

    scaled = await routes.scale(SERVICE, "prompt", 3, ref="r")
    assert (scaled.version, scaled.replicas) == (V42, 3)
    pinned = await routes.pin(SERVICE, "prompt", V41, ref="r")
    assert (pinned.version, pinned.previous, pinned.replicas) == (V41, V42, 3)
    assert registry.server.alias(registry.model) == "1"
    assert (await local.state(SERVICE, "prompt")).version == V42, "the local file is not pinned"
    model = await routes.pin(SERVICE, "model", "assistant-model-2026-10-02", ref="r")
    assert model.version == "assistant-model-2026-10-02", "an unmapped component: the local file"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_previous_is_what_the_orchestrator_moved_the_alias_from(
    http: httpx.AsyncClient, registry: Registry
) -> None:
    """The pin activity with ``version: previous``: MLflow keeps no alias history, so before any
    pin there is no previous (refused at once); after one, previous is the version it replaced."""
    deploy = DeployActivities(registry.adapter(http))

    def pin(version: str) -> PinInput:
        return PinInput(service=SERVICE, component="prompt", version=version, ref="inc-2/pin")

    with pytest.raises(ApplicationError, match="no previous version") as caught:
        await ActivityEnvironment().run(deploy.pin_component_version, pin(PREVIOUS))
    assert caught.value.non_retryable and caught.value.type == PERMANENT_ERROR_TYPE
    rolled = await ActivityEnvironment().run(deploy.pin_component_version, pin(V43))
    assert (rolled.version_before, rolled.version_after, rolled.changed) == (V42, V43, True)
    back = await ActivityEnvironment().run(deploy.pin_component_version, pin(PREVIOUS))
    assert (back.version_before, back.version_after) == (V43, V42)
    assert registry.server.alias(registry.model) == "2"
