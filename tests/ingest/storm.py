"""An alert storm against the ingest app: reusable with any submitter (in-memory or Temporal).

``run_storm`` posts ``deliveries`` Alertmanager webhooks spread over ``keys`` incident keys with at
most ``concurrency`` in flight, while a prober asks ``/healthz`` all along, and reports what came
back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from orchestrator.domain.catalog import Catalog, Service
from tests.ingest.samples import AM_TOKEN, am_alert, am_payload, bearer, body_of


def storm_catalog(base: Catalog, services: int) -> Catalog:
    """``services`` copies of the base catalog's first service: services x SLOs incident keys."""
    template: Service = base.services[0]
    copies = [template.model_copy(update={"name": f"storm-{i:02d}"}) for i in range(services)]
    return Catalog(dimensions=base.dimensions, services=tuple(copies))


def incident_keys(catalog: Catalog) -> list[tuple[str, str]]:
    return [(s.name, slo.name) for s in catalog.services for slo in s.slos]


@dataclass
class StormReport:
    statuses: Counter[int] = field(default_factory=Counter)
    health_checks: int = 0
    health_failures: int = 0
    slowest_health_check: float = 0.0
    seconds: float = 0.0


async def _probe(client: httpx.AsyncClient, done: asyncio.Event, report: StormReport) -> None:
    while not done.is_set():
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(client.get("/healthz"), 5)
            ok = response.status_code == 200
        except (TimeoutError, httpx.HTTPError):
            ok = False
        report.slowest_health_check = max(
            report.slowest_health_check, time.perf_counter() - started
        )
        report.health_checks += 1
        report.health_failures += 0 if ok else 1
        await asyncio.sleep(0.005)


async def run_storm(
    client: httpx.AsyncClient,
    keys: list[tuple[str, str]],
    *,
    deliveries: int,
    concurrency: int,
    token: str = AM_TOKEN,
) -> StormReport:
    report = StormReport()
    headers = bearer(token)
    numbers = iter(range(deliveries))

    async def worker() -> None:
        for n in numbers:  # shared iterator: each delivery is taken by exactly one worker
            service, slo = keys[n % len(keys)]
            # Every delivery is a distinct alert instance (own fingerprint): nothing is
            # deduplicated away, yet all of them must land on the one incident of their key.
            body = body_of(am_payload([am_alert(service, slo, f"{n:016x}")]))
            response = await client.post("/v1/signals/alertmanager", content=body, headers=headers)
            report.statuses[response.status_code] += 1

    done = asyncio.Event()
    started = time.perf_counter()
    prober = asyncio.create_task(_probe(client, done, report))
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        done.set()
        await prober
    report.seconds = time.perf_counter() - started
    return report
