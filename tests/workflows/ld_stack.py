"""The orchestrator with ``flag_backend="launchdarkly"``: the real REST adapter and the real server
SDK (streaming) both pointed at the local LaunchDarkly stand-in (tests/providers/fake_launchdarkly).

The fake is seeded with every flag the catalog lists; it runs on a free port of its own and stops
after the harness (and with it the SDK client, which flushes its events to the fake) has closed.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from orchestrator.config.files import load_catalog
from orchestrator.config.settings import LaunchDarklySettings, Settings
from orchestrator.domain.flags import FlagState
from orchestrator.secrets import Secret
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.workflows.conftest import HarnessFactory
from tests.workflows.harness import Harness

API_TOKEN = "api-5b0c7e21-9d3f-4a6e-b1c2-d3e4f5a6b7c8"
SDK_KEY = "sdk-3e9a1f0b-7c2d-4e8f-a9b0-c1d2e3f4a5b6"
PROJECT = "support"
ENV = "production"


@dataclass
class LdStack:
    harness: Harness
    fake: FakeLaunchDarkly

    def flag(self, key: str) -> FlagState:
        """The flag as the fake LaunchDarkly holds it (production environment)."""
        return self.fake.flags[ENV][key]

    def instructions(self, flag: str) -> list[tuple[dict[str, Any], str]]:
        """Every semantic-patch instruction the orchestrator sent for ``flag``, in order, each
        with the patch's comment (the fake logs bodies; the flag key is in the request path)."""
        paths = [p for m, p, _ in self.fake.requests if m == "PATCH"]
        sent: list[tuple[dict[str, Any], str]] = []
        for path, body in zip(paths, self.fake.patch_bodies, strict=True):
            if path.rsplit("/", 1)[-1] == flag:
                sent.extend((i, str(body.get("comment", ""))) for i in body["instructions"])
        return sent


@contextlib.asynccontextmanager
async def launchdarkly_harness(
    make_harness: HarnessFactory, settings: Settings, **overrides: object
) -> AsyncIterator[LdStack]:
    fake = FakeLaunchDarkly(api_token=API_TOKEN, project_key=PROJECT, sdk_keys={ENV: SDK_KEY})
    for service in load_catalog(settings.catalog_path).services:
        for spec in service.flags:
            fake.seed(spec)
    with fake.running():
        ld = LaunchDarklySettings(
            api_token=Secret(API_TOKEN),
            sdk_key=Secret(SDK_KEY),
            project_key=PROJECT,
            environment_key=ENV,
            base_url=fake.url,
            sdk_base_uri=fake.url,
            sdk_stream_uri=fake.url,
            sdk_events_uri=fake.url,
        )
        async with make_harness(flag_backend="launchdarkly", launchdarkly=ld, **overrides) as h:
            assert type(h.runtime.flags).__name__ == "LaunchDarklyFlagProvider"
            yield LdStack(harness=h, fake=fake)
