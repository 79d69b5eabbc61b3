"""The arms of bench/first_mitigation.py, each one batch of concurrent incidents (or deliveries)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client, WorkflowHandle

from bench.bare_worker import BARE_WORKFLOW
from bench.bench_stack import BARE_QUEUE, STORM_QUEUE, BenchStack
from bench.http_sender import Answer, Connection, connection_to, request_bytes
from bench.ingest_storm import count_signals
from bench.procs import cpu_seconds
from orchestrator.client import control
from orchestrator.config.files import load_catalog
from orchestrator.config.playbook_files import load_library
from orchestrator.domain.signals import BreachSignal
from orchestrator.errors import TemporalRefusedError, TemporalUnavailableError
from orchestrator.workflows.key_types import KeyInput, KeyState
from orchestrator.workflows.types import INCIDENT_KEY_WORKFLOW, QUERY_KEY, SIGNAL_BREACH
from tests.ingest.samples import AM_TOKEN, GENERIC_TOKEN, am_alert, am_payload, bearer, body_of

PATCH_TIMEOUT = 180.0


@dataclass
class Batch:
    latencies: list[float]
    cpu: float
    """CPU seconds of the arm's worker process over the batch, ending included."""
    api_cpu: float = 0.0
    server_cpu: float = 0.0
    """CPU seconds of the Temporal dev server over the batch (the engine's work for the arm)."""
    retried: list[int] = field(default_factory=list)
    """503s the API answered (Temporal did not accept within its 5 s) and the bench sent again."""


async def deliver(http: httpx.AsyncClient, path: str, retried: list[int], **kw: object) -> Any:
    """POST as a sender does: a 503 (Temporal did not accept in time) is sent again after its
    Retry-After (at most 1 s here), and so is a request on a kept-alive connection the server
    closed as it was sent (uvicorn closes one idle for 5 s: the race every HTTP client meets; the
    delivery was not answered, so nothing was acknowledged); anything else but 202 stops the
    bench."""
    for _ in range(50):
        try:
            response = await http.post(path, **kw)  # type: ignore[arg-type]
        except (httpx.ReadError, httpx.RemoteProtocolError):
            retried.append(1)
            continue
        if response.status_code == 202:
            return response.json()
        if response.status_code != 503:
            raise SystemExit(f"POST {path}: {response.status_code} {response.text}")
        retried.append(1)
        await asyncio.sleep(min(1.0, float(response.headers.get("Retry-After", "1"))))
    raise SystemExit(f"POST {path}: still 503 after 50 attempts")


def breach(service: str, value: str, segment: bool = True) -> dict[str, object]:
    """A firing fairness breach (SEV2 for a segment; SEV1 for all users)."""
    body: dict[str, object] = {
        "service": service,
        "slo": "language-gap",
        "observed": 7.4,
        "objective": 3.0,
        "burn_rate": 16.0,
        "dedupe_key": f"bench-{value}",
    }
    if segment:
        body["segment"] = f"language={value}"
    return body


async def _arrived(arrivals: list[asyncio.Future[float]]) -> list[float]:
    """When each PATCH arrived; past PATCH_TIMEOUT, the run stops saying how many did."""
    try:
        return await asyncio.wait_for(asyncio.gather(*arrivals), PATCH_TIMEOUT)
    except TimeoutError:
        came = sum(a.done() and not a.cancelled() for a in arrivals)
        raise SystemExit(
            f"only {came} of {len(arrivals)} PATCHes arrived within {PATCH_TIMEOUT:.0f} s"
        ) from None


async def bare_batch(stack: BenchStack, values: list[str]) -> Batch:
    arrivals = [stack.expect(v) for v in values]
    cpu0, server0 = stack.bare.cpu_seconds(), cpu_seconds(stack.server.process.pid)

    async def start(value: str) -> tuple[float, WorkflowHandle[object, object]]:
        sent = time.monotonic()
        handle = await stack.client.start_workflow(
            BARE_WORKFLOW, value, id=f"bare-{value}", task_queue=BARE_QUEUE
        )
        return sent, handle

    started = await asyncio.gather(*(start(v) for v in values))
    arrived = await _arrived(arrivals)
    await asyncio.gather(*(handle.result() for _, handle in started))
    cpu = stack.bare.cpu_seconds() - cpu0
    server = cpu_seconds(stack.server.process.pid) - server0
    return Batch([a - s for (s, _), a in zip(started, arrived, strict=True)], cpu, 0.0, server)


async def _end(client: Client, key_id: str) -> None:
    """Abort the key's open occurrence and wait until it has ended."""
    handle = client.get_workflow_handle(key_id)
    for _ in range(400):
        state = await handle.query(QUERY_KEY, result_type=KeyState)
        if state.open:
            break
        await asyncio.sleep(0.05)
    assert state.open, f"{key_id}: no occurrence open"
    for attempt in range(120):  # refused while a workflow task failed (retried) or is pending
        try:
            await control.abort(client, state.open, by="bench", reason="measured")
            break
        except (TemporalRefusedError, TemporalUnavailableError):  # a task pending, or slow
            if attempt == 119:
                raise
            await asyncio.sleep(0.5)
    await client.get_workflow_handle(state.open).result()


async def accepted(connection: Connection, request: bytes, what: str, retried: list[int]) -> Answer:
    """Send ``request`` until it is accepted (202), as a sender does: a 503 is sent again after
    its Retry-After (at most 1 s), each counted in ``retried``; anything else stops the bench."""
    for _ in range(50):
        answer = await connection.post(request)
        if answer.status == 202:
            return answer
        if answer.status != 503:
            raise SystemExit(f"POST {what}: {answer.status} {answer.body[:300]!r}")
        retried.append(1)
        await asyncio.sleep(min(1.0, float(answer.headers.get("retry-after", "1"))))
    raise SystemExit(f"POST {what}: still 503 after 50 attempts")


async def post_all(
    url: str, path: str, bodies: list[bytes], token: str, retried: list[int]
) -> list[tuple[float, Any]]:
    """POST each body at once, one kept-alive connection each (opened before the clock starts),
    from the sender that costs little (bench/http_sender.py): the time from just before each
    request is written to its PATCH is the service's, not the bench's HTTP client's (httpx spent
    about 4 ms of the bench's CPU per request, a third of what the API takes). A 503 is sent
    again after its Retry-After (at most 1 s); anything else but 202 stops the bench. Returns
    (sent, answer) per body."""
    host = url.split("//", 1)[1]
    requests = [request_bytes(host, path, body, bearer(token)) for body in bodies]
    connections = [connection_to(url) for _ in bodies]

    async def post(connection: Connection, request: bytes) -> tuple[float, Any]:
        sent = time.monotonic()
        answer = await accepted(connection, request, path, retried)
        return sent, json.loads(answer.body)

    try:
        await asyncio.gather(*(c.open() for c in connections))
        return await asyncio.gather(
            *(post(c, r) for c, r in zip(connections, requests, strict=True))
        )
    finally:
        await asyncio.gather(*(c.close() for c in connections))


async def project_batch(stack: BenchStack, values: list[str]) -> Batch:
    services = stack.take_services(len(values))
    bodies = [body_of(breach(s, v)) for s, v in zip(services, values, strict=True)]
    arrivals = [stack.expect(v) for v in values]
    cpu0, api0 = stack.worker.cpu_seconds(), stack.api.cpu_seconds()
    server0 = cpu_seconds(stack.server.process.pid)
    retried: list[int] = []
    posted = await post_all(stack.api_url, "/v1/signals", bodies, GENERIC_TOKEN, retried)
    arrived = await _arrived(arrivals)
    keys = [answer["incidents"][0]["workflow_id"] for _, answer in posted]
    await asyncio.gather(*(_end(stack.client, key) for key in keys))
    cpu = stack.worker.cpu_seconds() - cpu0
    api_cpu = stack.api.cpu_seconds() - api0
    server = cpu_seconds(stack.server.process.pid) - server0
    latencies = [a - s for (s, _), a in zip(posted, arrived, strict=True)]
    return Batch(latencies, cpu, api_cpu, server, retried)


@dataclass
class Storm:
    seconds: float
    statuses: Counter[int]
    workflows: int
    ids: int
    signals: int
    cpu: float = 0.0


def storm_keys(stack: BenchStack, keys: int) -> list[tuple[str, str]]:
    catalog = load_catalog(stack.tmp / "config" / "catalog.yaml")
    pairs = [(s.name, slo.name) for s in catalog.services for slo in s.slos]
    return pairs[:keys]


async def _in_histories(client: Client, prefix: str, keys: int) -> tuple[int, int, int]:
    """Runs and ids listed under ``prefix``, and the signals in their histories (visibility lags
    the starts a little: listed again until every key shows, for at most 30 s)."""
    for _ in range(60):
        query = f"WorkflowId STARTS_WITH '{prefix}'"
        runs = [wf.id async for wf in client.list_workflows(query)]
        if len(set(runs)) >= keys:
            break
        await asyncio.sleep(0.5)
    signals = sum(await asyncio.gather(*(count_signals(client, wid) for wid in set(runs))))
    return len(runs), len(set(runs)), signals


async def _pooled(deliveries: int, concurrency: int, one: object) -> float:
    numbers = iter(range(deliveries))

    async def loop() -> None:
        for n in numbers:
            await one(n)  # type: ignore[operator]

    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return time.monotonic() - started


async def storm_api(
    stack: BenchStack, keys: list[tuple[str, str]], deliveries: int, concurrency: int
) -> Storm:
    """Alertmanager deliveries to ``orchestrator api``, one alert each, from ``concurrency``
    kept-alive connections of a sender that costs little (bench/http_sender.py); every request
    is built before the clock starts. A 503 is sent again after its Retry-After (at most 1 s)."""
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {AM_TOKEN}"}
    host = stack.storm_url.split("//", 1)[1]
    requests = [
        request_bytes(
            host,
            "/v1/signals/alertmanager",
            body_of(am_payload([am_alert(*keys[n % len(keys)], f"{n:016x}")])),
            headers,
        )
        for n in range(deliveries)
    ]
    connections = [connection_to(stack.storm_url) for _ in range(concurrency)]
    retried: list[int] = []

    async def send(connection: Connection, numbers: Iterator[int]) -> None:
        for n in numbers:
            await accepted(connection, requests[n], "storm /v1/signals/alertmanager", retried)
            statuses[202] += 1

    numbers = iter(range(deliveries))
    cpu0, own0 = stack.storm_api.cpu_seconds(), time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(send(c, numbers) for c in connections))
    seconds = time.monotonic() - started
    cpu, own = stack.storm_api.cpu_seconds() - cpu0, time.process_time() - own0
    for connection in connections:
        await connection.close()
    async with httpx.AsyncClient(base_url=stack.storm_url) as http:
        page = (await http.get("/metrics")).text
    sums = {
        line.split(" ")[0].split("{")[0]: float(line.split(" ")[-1])
        for line in page.splitlines()
        if line.startswith("orchestrator_ingest_") and "_sum" in line
    }
    handler = sums["orchestrator_ingest_request_duration_seconds_sum"] / deliveries
    submit = sums["orchestrator_ingest_submit_duration_seconds_sum"] / deliveries
    print(
        f"  sender CPU {own:.1f} s, {sum(len(c.reopened) for c in connections)} connections"
        f" reopened; mean in the API's handler {handler * 1000:.0f} ms (the Temporal call"
        f" {submit * 1000:.0f} ms); at the sender {seconds * concurrency / deliveries * 1e3:.0f} ms"
    )
    runs, ids, signals = await _in_histories(stack.client, "storm-", len(set(keys)))
    statuses[503] = len(retried)  # answered, sent again: not in the 202s
    return Storm(seconds, statuses, runs, ids, signals, cpu)


async def storm_raw(
    stack: BenchStack, keys: list[tuple[str, str]], deliveries: int, concurrency: int
) -> Storm:
    """signal-with-start straight from a Temporal client: the same workflow type, input and
    signal the API sends (built beforehand), no HTTP, no parsing, no checks."""
    catalog = load_catalog(stack.tmp / "config" / "catalog.yaml")
    library = load_library(stack.tmp / "config" / "playbooks")
    inputs = {}
    for service, slo in set(keys):
        svc = catalog.service(service)
        key = f"raw-{service}--{slo}"
        inputs[(service, slo)] = KeyInput(
            key=key, service=svc, slo=svc.slo(slo), playbooks=library.for_service(service)
        )
    statuses: Counter[int] = Counter()

    async def one(n: int) -> None:
        service, slo = keys[n % len(keys)]
        signal = BreachSignal(
            service=service,
            slo=slo,
            dimension=catalog.service(service).slo(slo).dimension,
            source="alertmanager",
            dedupe_key=f"raw-{n:016x}",
            received_at=datetime.now(UTC),
        )
        inp = inputs[(service, slo)]
        await stack.client.start_workflow(
            INCIDENT_KEY_WORKFLOW,
            inp,
            id=inp.key,
            task_queue=STORM_QUEUE,
            start_signal=SIGNAL_BREACH,
            start_signal_args=[signal],
        )
        statuses[202] += 1

    seconds = await _pooled(deliveries, concurrency, one)
    runs, ids, signals = await _in_histories(stack.client, "raw-", len(set(keys)))
    return Storm(seconds, statuses, runs, ids, signals)


async def _waiting(stack: BenchStack, target: int, n: int, started: float) -> None:
    """Until ``target`` of the phase's incidents wait: for the approval, or (the safety ledger
    did not answer in time: the rollback was refused and the on-call paged) for the recovery."""
    query = "IncidentState IN ('awaiting-approval', 'monitoring') AND Slo = 'language-gap'"
    while True:
        waiting = (await stack.client.count_workflows(query)).count
        print(f"\r  open and waiting: {waiting}/{n}", end="", flush=True)
        if waiting >= target:
            return
        if time.monotonic() - started > 1800:
            raise SystemExit(f"only {waiting} of {n} incidents waiting after 1800 s")
        await asyncio.sleep(1)


async def open_and_wait(
    stack: BenchStack, http: httpx.AsyncClient, n: int, wave: int
) -> tuple[float, float, float]:
    """``n`` SEV1 breaches (all users) on fresh keys: each pages, then its rollback waits for a
    person's approval (the latency arms' incidents have all ended by then). They open ``wave``
    at a time, each wave once the one before waits: all at once, a slow machine's worker fell
    behind its workflow tasks, they timed out and were scheduled again, and the phase measured
    that backlog. Returns (seconds until all wait, worker RSS MB, worker CPU s)."""
    services = stack.take_services(n)
    cpu0 = stack.worker.cpu_seconds()
    started = time.monotonic()

    retried: list[int] = []

    async def one(i: int) -> None:
        body = breach(services[i], f"rss{i}", segment=False)
        await deliver(http, "/v1/signals", retried, json=body, headers=bearer(GENERIC_TOKEN))

    for first in range(0, n, wave):
        size = min(wave, n - first)
        await asyncio.gather(*(one(i) for i in range(first, first + size)))
        await _waiting(stack, first + size, n, started)
    print()
    await asyncio.sleep(3)  # let the last audit writes and cache settle
    return time.monotonic() - started, stack.worker.rss_mb(), stack.worker.cpu_seconds() - cpu0
