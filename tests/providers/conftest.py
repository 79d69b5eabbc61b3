"""Fixtures for the flag providers: the catalog's answer-mode flag, the fake LaunchDarkly, the
flag stores flag writes are tested against (the local JSON store, the LaunchDarkly adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from threading import Event
from typing import Any

import httpx
import pytest
from ldclient.client import LDClient
from ldclient.config import Config
from ldclient.impl.datasource.feature_requester import FeatureRequesterImpl
from ldclient.impl.datasource.polling import PollingUpdateProcessor
from ldclient.impl.retry import for_polling

from orchestrator.domain.catalog import FlagSpec
from orchestrator.providers.flags import FlagProvider
from orchestrator.providers.launchdarkly import LaunchDarklyFlagProvider
from orchestrator.providers.local_flags import LocalFlagStore
from orchestrator.secrets import Secret
from tests.providers.fake_launchdarkly import FakeLaunchDarkly

ANSWER_MODE = FlagSpec(
    key="support-assistant-answer-mode",
    description="How answers are produced for a user segment",
    variations=("assistant", "retrieval-only", "human-queue"),
    default="assistant",
)
POST_PROCESSING = FlagSpec(
    key="support-assistant-post-processing", variations=("full", "essential-only"), default="full"
)
API_TOKEN = "api-0f2e9d9a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
SDK_KEY = "sdk-7c1d2e3f-4a5b-4c6d-9e8f-0a1b2c3d4e5f"
PROJECT = "support"
ENV = "production"


@pytest.fixture
def fake_ld() -> Iterator[FakeLaunchDarkly]:
    fake = FakeLaunchDarkly(
        api_token=API_TOKEN, project_key=PROJECT, sdk_keys={ENV: SDK_KEY, "staging": "sdk-staging"}
    )
    fake.seed(ANSWER_MODE)
    with fake.running():
        yield fake


def fast_polling_client(base_uri: str, sdk_key: str, interval: float) -> LDClient:
    """A real LDClient polling ``base_uri`` every ``interval`` s. TEST-ONLY.

    ``Config`` raises any ``poll_interval`` below 30 s to 30 s, so this builds the SDK's own
    polling processor with a shorter retry state (SDK internals: ``ldclient.impl``).
    """

    def factory(config: Config, store: Any, ready: Event) -> PollingUpdateProcessor:
        requester = FeatureRequesterImpl(config)  # type: ignore[no-untyped-call]
        return PollingUpdateProcessor(
            config, requester, store, ready, retry_state=for_polling(interval)
        )

    config = Config(
        sdk_key=sdk_key,
        base_uri=base_uri,
        stream=False,
        send_events=False,
        diagnostic_opt_out=True,
        update_processor_class=factory,
    )
    return LDClient(config=config, start_wait=5)


def local_store(tmp_path: Path) -> LocalFlagStore:
    return LocalFlagStore(tmp_path / "flags.json", tmp_path / "sdk" / "flags-sdk.json")


def ld_provider(
    fake: FakeLaunchDarkly, http: httpx.AsyncClient, token: str = API_TOKEN, project: str = PROJECT
) -> LaunchDarklyFlagProvider:
    """The real LaunchDarkly adapter, pointed at the fake."""
    return LaunchDarklyFlagProvider(
        http, api_token=Secret(token), project_key=project, environment_key=ENV, base_url=fake.url
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalFlagStore:
    store = local_store(tmp_path)
    store.ensure_flags([ANSWER_MODE])
    return store


@pytest.fixture
def ld(fake_ld: FakeLaunchDarkly, http: httpx.AsyncClient) -> LaunchDarklyFlagProvider:
    return ld_provider(fake_ld, http)


@pytest.fixture(params=["local", "launchdarkly"])
async def backends(
    request: pytest.FixtureRequest, tmp_path: Path, http: httpx.AsyncClient
) -> AsyncIterator[tuple[FlagProvider, FlagProvider]]:
    """Two clients of one flag store: the one under test, and another writer."""
    if request.param == "local":
        store = local_store(tmp_path)
        store.ensure_flags([ANSWER_MODE])
        yield store, local_store(tmp_path)
        return
    fake = FakeLaunchDarkly(api_token=API_TOKEN, project_key=PROJECT, sdk_keys={ENV: "sdk-x"})
    fake.seed(ANSWER_MODE)
    with fake.running():
        yield ld_provider(fake, http), ld_provider(fake, http)
