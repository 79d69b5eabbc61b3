"""A worker process for the fault campaign: ``orchestrator worker`` with faulty deployments.

Settings come from the environment, as for ``orchestrator worker``. The deployment provider is
wrapped: before a pin it takes one fault token from ``<state dir>/faults/`` if one is there (a file
named ``deploy-500-<n>`` fails the call as a 500 would; ``deploy-hang-<seconds>-<n>`` holds it that
long first). Taking a token is an atomic rename, so two worker processes never take the same one,
and a worker killed mid-call has used its token up, as a real provider's failure would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from orchestrator.client.connect import connect
from orchestrator.config.settings import Settings
from orchestrator.domain.ops_models import ComponentState
from orchestrator.errors import ProviderError
from orchestrator.providers.local_ops import OpsProviders
from tests.providers.passthrough import PassThroughDeployments
from workers.runtime import build_runtime
from workers.stack import wait_for_stop


def take_token(folder: Path, kind: str) -> str | None:
    """Claim one fault token whose name starts with ``kind`` (None when there is none)."""
    for path in sorted(folder.glob(f"{kind}-*")):
        claimed = path.with_name(f"taken.{os.getpid()}.{path.name}")
        try:
            os.rename(path, claimed)
        except OSError:
            continue  # another worker took it first
        return path.name
    return None


class FaultyDeployments(PassThroughDeployments):
    def __init__(self, inner: object, folder: Path) -> None:
        super().__init__(inner)  # type: ignore[arg-type]
        self._folder = folder

    async def write(self, op: str, do: Callable[[], Awaitable[ComponentState]]) -> ComponentState:
        token = take_token(self._folder, "deploy-")
        if token and token.startswith("deploy-hang-"):
            await asyncio.sleep(float(token.split("-")[2]))
        elif token and token.startswith("deploy-500-"):
            raise ProviderError(f"deployment API: HTTP 500 (fault campaign, {op})", retryable=True)
        return await do()


async def main() -> None:
    settings = Settings.from_env(os.environ)
    folder = settings.state_dir / "faults"
    folder.mkdir(parents=True, exist_ok=True)

    def wrap(ops: OpsProviders) -> OpsProviders:
        return dataclasses.replace(ops, deploy=FaultyDeployments(ops.deploy, folder))

    async with build_runtime(settings, wrap_ops=wrap) as runtime:
        client = await connect(settings)
        async with runtime.worker(client):
            print(f"worker {os.getpid()} polling {settings.task_queue}", flush=True)
            await wait_for_stop()


if __name__ == "__main__":
    asyncio.run(main())
