"""The bare arm of bench/first_mitigation.py: plain Temporal, no orchestrator.

A workflow that runs one activity; the activity makes one semantic-patch PATCH (add a rule serving
``human-queue`` to ``language in [<value>]``) to the LaunchDarkly REST API, over one shared HTTP
client. Worker with the SDK's default options (sandboxed workflows). Run in its own process so its
CPU is its own: ``python -m bench.bare_worker ADDRESS TASK_QUEUE LD_URL FLAG``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():  # the sandbox re-imports this module
    import httpx
    from temporalio.client import Client
    from temporalio.worker import Worker

BARE_WORKFLOW = "BareMitigation"
PATCH_TYPE = "application/json; domain-model=launchdarkly.semanticpatch"


@workflow.defn(name=BARE_WORKFLOW)
class BareMitigation:
    @workflow.run
    async def run(self, value: str) -> None:
        await workflow.execute_activity(
            "bare_patch", value, start_to_close_timeout=timedelta(seconds=60)
        )


class Patcher:
    def __init__(self, http: httpx.AsyncClient, flag: str, variation_id: str) -> None:
        self._http, self._flag, self._variation_id = http, flag, variation_id

    @activity.defn(name="bare_patch")
    async def bare_patch(self, value: str) -> None:
        body = {
            "environmentKey": "production",
            "comment": f"bare {value}",
            "instructions": [
                {
                    "kind": "addRule",
                    "ref": f"bare-{value}",
                    "variationId": self._variation_id,
                    "clauses": [
                        {
                            "contextKind": "user",
                            "attribute": "language",
                            "op": "in",
                            "values": [value],
                            "negate": False,
                        }
                    ],
                }
            ],
        }
        response = await self._http.patch(
            f"/api/v2/flags/support/{self._flag}", json=body, headers={"Content-Type": PATCH_TYPE}
        )
        response.raise_for_status()


async def main(address: str, task_queue: str, ld_url: str, flag: str, token: str) -> None:
    async with httpx.AsyncClient(base_url=ld_url, headers={"Authorization": token}) as http:
        found = (await http.get(f"/api/v2/flags/support/{flag}")).json()
        variation = next(v["_id"] for v in found["variations"] if v["value"] == "human-queue")
        client = await Client.connect(address)
        patcher = Patcher(http, flag, variation)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[BareMitigation],
            activities=[patcher.bare_patch],
        ):
            print("ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    from tests.local_saas import LD_API_TOKEN

    address, queue, ld_url, flag = sys.argv[1:5]
    asyncio.run(main(address, queue, ld_url, flag, LD_API_TOKEN))
