"""The real LaunchDarkly REST adapter and the real SDK, against the local LaunchDarkly stand-in."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from orchestrator.domain.flags import (
    AddRule,
    AddTargets,
    Clause,
    EvalContext,
    FlagState,
    TurnFlagOff,
    UpdateFallthroughVariationOrRollout,
)
from orchestrator.errors import FlagProviderError
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.launchdarkly import (
    SEMANTIC_PATCH,
    LaunchDarklyFlagProvider,
    LaunchDarklyRateLimitedError,
)
from orchestrator.providers.ld_sdk import SdkFlagEvaluator, wait_for_variation
from orchestrator.secrets import Secret
from tests.providers.conftest import (
    ANSWER_MODE,
    API_TOKEN,
    ENV,
    PROJECT,
    SDK_KEY,
    fast_polling_client,
    ld_provider,
)
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.providers.flag_backends import route_es as planned_route_es

KEY = ANSWER_MODE.key
ES = EvalContext(key="verify-es", attributes={"language": "es"})
EN = EvalContext(key="verify-en", attributes={"language": "en"})


async def route_es(provider: FlagProvider) -> FlagState:
    state = await provider.get_flag(KEY)
    plan = planned_route_es(state)
    return (
        await provider.apply(KEY, plan, "incident 42: route es to human queue") if plan else state
    )


async def test_get_maps_the_rest_representation(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    state = await ld.get_flag(KEY)
    assert state == fake_ld.flags[ENV][KEY]
    method, path, authorization = fake_ld.requests[-1]
    assert (method, path) == ("GET", f"/api/v2/flags/{PROJECT}/{KEY}")
    assert authorization == API_TOKEN  # the raw token, no "Bearer"


async def test_patch_routes_es_and_replanning_changes_nothing(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    after = await route_es(ld)
    rule = after.rule_by_ref("es-fallback")
    assert rule is not None
    assert after.value_of(rule.variation_id) == "human-queue"
    assert after.version == 2
    assert after == fake_ld.flags[ENV][KEY]
    body = fake_ld.patch_bodies[-1]
    assert body["environmentKey"] == ENV
    assert body["comment"] == "incident 42: route es to human queue"
    assert body["instructions"][0]["kind"] == "addRule"
    assert body["instructions"][0]["clauses"][0]["values"] == ["es"]
    assert await route_es(ld) == after
    assert [m for m, _, _ in fake_ld.requests].count("PATCH") == 1


async def test_the_real_sdk_streaming_from_the_fake_sees_the_rest_change(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    evaluator = await asyncio.to_thread(
        SdkFlagEvaluator.for_launchdarkly,
        Secret(SDK_KEY),
        base_uri=fake_ld.url,
        stream_uri=fake_ld.url,
        events_uri=fake_ld.url,
    )
    try:
        assert (await evaluator.evaluate(KEY, ES)).value == "assistant"
        await route_es(ld)
        served = await wait_for_variation(evaluator, KEY, ES, "human-queue", within_seconds=5)
        assert served.reason_kind == "RULE_MATCH"
        assert (await evaluator.evaluate(KEY, EN)).value == "assistant"
    finally:
        await asyncio.to_thread(evaluator.close)
    assert fake_ld.events_received >= 1  # close() flushed the evaluation events to /bulk
    assert "/all" in fake_ld.sdk_requests
    assert "/sdk/latest-all" not in fake_ld.sdk_requests


async def test_the_real_sdk_polling_from_the_fake_sees_the_rest_change(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    # Config raises poll_interval to 30 s; the test-only client polls every 0.1 s.
    client = await asyncio.to_thread(fast_polling_client, fake_ld.url, SDK_KEY, 0.1)
    evaluator = SdkFlagEvaluator(client, source="fast polling test client")
    try:
        assert (await evaluator.evaluate(KEY, ES)).value == "assistant"
        await route_es(ld)
        await wait_for_variation(evaluator, KEY, ES, "human-queue", within_seconds=5)
        assert (await evaluator.evaluate(KEY, EN)).value == "assistant"
    finally:
        evaluator.close()
    assert fake_ld.sdk_requests.count("/sdk/latest-all") >= 2
    assert "/all" not in fake_ld.sdk_requests
    fresh = await asyncio.to_thread(
        SdkFlagEvaluator.for_launchdarkly,
        Secret(SDK_KEY),
        base_uri=fake_ld.url,
        stream=False,
        send_events=False,
    )
    try:  # the production polling configuration: its first poll is immediate
        assert (await fresh.evaluate(KEY, ES)).value == "human-queue"
    finally:
        fresh.close()


async def test_a_rejected_sdk_key_fails_initialization_without_leaking_it(
    fake_ld: FakeLaunchDarkly,
) -> None:
    wrong = "sdk-00000000-1111-4222-8333-444444444444"
    with pytest.raises(FlagProviderError, match="did not initialize") as caught:
        await asyncio.to_thread(
            SdkFlagEvaluator.for_launchdarkly,
            Secret(wrong),
            base_uri=fake_ld.url,
            stream=False,
            send_events=False,
            start_wait=1,
        )
    assert wrong not in str(caught.value)


@pytest.mark.parametrize(
    ("token", "project", "key", "status"),
    [
        ("api-wrong-token-value", PROJECT, KEY, 401),
        (SDK_KEY, PROJECT, KEY, 401),  # SDK keys cannot use the REST API
        (API_TOKEN, "no-such-project", KEY, 404),
        (API_TOKEN, PROJECT, "no-such-flag", 404),
    ],
    ids=["wrong-token", "sdk-key-as-token", "unknown-project", "unknown-flag"],
)
async def test_auth_and_missing_resources_are_permanent(
    fake_ld: FakeLaunchDarkly,
    http: httpx.AsyncClient,
    token: str,
    project: str,
    key: str,
    status: int,
) -> None:
    provider = ld_provider(fake_ld, http, token=token, project=project)
    with pytest.raises(FlagProviderError, match=f"HTTP {status}") as caught:
        await provider.get_flag(key)
    assert caught.value.retryable is False
    assert token not in str(caught.value)
    assert token not in repr(provider)


async def test_an_invalid_instruction_is_a_permanent_400(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    bad = UpdateFallthroughVariationOrRollout(variation_id="no-such-variation")
    with pytest.raises(FlagProviderError, match=r"HTTP 400.*unknown variationId") as caught:
        await ld.apply(KEY, [bad], "bad")
    assert caught.value.retryable is False
    empty = AddRule(clauses=(), variation_id=fake_ld.flags[ENV][KEY].variation_id_for("assistant"))
    with pytest.raises(FlagProviderError, match="at least one clause"):
        await ld.apply(KEY, [empty], "bad")
    assert fake_ld.flags[ENV][KEY].version == 1  # nothing applied


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (403, False), (404, False), (415, False), (409, True), (500, True), (503, True)],
)
async def test_status_mapping(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly, status: int, retryable: bool
) -> None:
    fake_ld.fail_next(status, message=f"echoing the token {API_TOKEN} back")
    with pytest.raises(FlagProviderError, match=f"HTTP {status}") as caught:
        await route_es(ld)
    assert caught.value.retryable is retryable
    assert API_TOKEN not in str(caught.value)
    assert "[redacted]" in str(caught.value)
    assert (await route_es(ld)).version == 2  # the failure was not sticky


@pytest.mark.parametrize("with_retry_after", [True, False])
async def test_429_is_retryable_after_the_announced_wait(
    http: httpx.AsyncClient, with_retry_after: bool
) -> None:
    fake = FakeLaunchDarkly(
        api_token=API_TOKEN,
        project_key=PROJECT,
        sdk_keys={ENV: SDK_KEY},
        route_budget=2,
        window_seconds=10,
        send_retry_after=with_retry_after,
    )
    fake.seed(ANSWER_MODE)
    with fake.running():
        provider = ld_provider(fake, http)
        await provider.get_flag(KEY)
        await provider.get_flag(KEY)
        with pytest.raises(LaunchDarklyRateLimitedError, match="HTTP 429") as caught:
            await provider.get_flag(KEY)
        assert caught.value.retryable is True
        assert caught.value.retry_after_seconds is not None
        assert 0 < caught.value.retry_after_seconds <= 10
        off = await provider.apply(KEY, [TurnFlagOff()], "PATCH is another route")
        assert off.on is False


async def test_the_fake_sends_rate_limit_headers_and_checks_the_content_type(
    fake_ld: FakeLaunchDarkly, http: httpx.AsyncClient
) -> None:
    fake_ld.route_budget = 5
    url = f"{fake_ld.url}/api/v2/flags/{PROJECT}/{KEY}"
    auth = {"Authorization": API_TOKEN}
    got = await http.get(url, headers=auth)
    assert got.headers["X-Ratelimit-Route-Remaining"] == "4"
    assert int(got.headers["X-Ratelimit-Reset"]) > 0
    body = json.dumps({"environmentKey": ENV, "instructions": [{"kind": "turnFlagOff"}]})
    for content_type, status in [
        ("application/json", 400),  # read as a JSON patch, which this body is not
        ("text/plain", 415),
        (SEMANTIC_PATCH, 200),
    ]:
        reply = await http.patch(url, content=body, headers={**auth, "Content-Type": content_type})
        assert reply.status_code == status, reply.text
    assert fake_ld.flags[ENV][KEY].on is False


async def test_transport_errors_are_retryable(http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = LaunchDarklyFlagProvider(
        http,
        api_token=Secret(API_TOKEN),
        project_key=PROJECT,
        environment_key=ENV,
        base_url=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(FlagProviderError, match="ConnectError") as caught:
        await provider.get_flag(KEY)
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, httpx.TransportError)


async def test_rules_and_targets_from_other_tools_survive_the_mapping(
    ld: LaunchDarklyFlagProvider, fake_ld: FakeLaunchDarkly
) -> None:
    state = fake_ld.flags[ENV][KEY]
    human = state.variation_id_for("human-queue")
    clause = Clause(context_kind="org", attribute="plan", op="startsWith", values=("ent",))
    after = await ld.apply(
        KEY,
        [
            AddRule(clauses=(clause,), variation_id=human, description="enterprise"),
            AddTargets(values=("agent-7",), variation_id=human),
            AddTargets(context_kind="org", values=("acme",), variation_id=human),
        ],
        "other tool",
    )
    assert after == fake_ld.flags[ENV][KEY]
