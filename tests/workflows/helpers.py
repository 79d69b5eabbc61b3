"""Helpers for workflow tests: building signals and waiting on incidents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle

from orchestrator.client import occurrences
from orchestrator.domain.flags import EvalContext
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus
from orchestrator.errors import NotFoundError
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from workers.runtime import Runtime

FLAG = "support-assistant-answer-mode"

T = TypeVar("T")


async def settled(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    tries: int = 100,
    pause: float = 0.05,
) -> T:
    """Read again, ``tries`` times at most ``pause`` seconds apart, until ``done`` holds of the
    reading: something that lands a moment after what a test waited for. The last reading
    either way (the test's assertion says what was expected)."""
    value = await read()
    for _ in range(tries - 1):
        if done(value):
            break
        await asyncio.sleep(pause)
        value = await read()
    return value


def patch_id(event: HistoryEvent) -> str | None:
    """The id of the patch a history event marks (sdk-core's ``core_patch`` marker keeps it in
    its ``patch-data`` detail); None for any other event."""
    if not event.HasField("marker_recorded_event_attributes"):
        return None
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != "core_patch":
        return None
    return str(json.loads(marker.details["patch-data"].payloads[0].data)["id"])


def fairness_breach(**changes: object) -> BreachSignal:
    fields: dict[str, object] = {
        "service": "support-assistant",
        "slo": "language-gap",
        "dimension": "fairness",
        "segment": Segment(key="language", value="es"),
        "observed": 7.4,
        "objective": 3.0,
        "burn_rate": 9.2,
        "source": "test",
    }
    fields.update(changes)
    return BreachSignal.model_validate(fields)


def resolved(signal: BreachSignal, **changes: object) -> BreachSignal:
    return signal.model_copy(update={"status": SignalStatus.RESOLVED, "dedupe_key": "", **changes})


async def occurrence_of(client: Client, incident_id: str, timeout: float = 30.0) -> str:
    """The occurrence a key (or an occurrence id) means, once the key's workflow has opened it."""
    try:
        return await occurrences.opened(client, incident_id, open_only=False, timeout=timeout)
    except NotFoundError:
        raise AssertionError(f"{incident_id} opened no occurrence within {timeout:g}s") from None


async def occurrence_handle(client: Client, incident_id: str) -> WorkflowHandle[Any, IncidentState]:
    found = await occurrence_of(client, incident_id)
    return client.get_workflow_handle(found, result_type=IncidentState)


async def wait_for(
    client: Client, incident_id: str, *phases: IncidentPhase, timeout: float = 60.0
) -> IncidentState:
    handle = client.get_workflow_handle(await occurrence_of(client, incident_id, timeout))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    state: IncidentState | None = None
    while loop.time() < deadline:
        try:
            state = await handle.query(QUERY_STATE, result_type=IncidentState)
        except Exception:
            state = None
        if state is not None and state.phase in phases:
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"{incident_id} never reached {phases}; last state {state}")


async def served(runtime: Runtime, language: str) -> object:
    ev = await runtime.evaluator.evaluate(
        FLAG, EvalContext(kind="user", key=f"u-{language}", attributes={"language": language})
    )
    return ev.value


async def served_eventually(runtime: Runtime, language: str, expect: object) -> object:
    """The SDK picks file changes up after its poll interval: wait for it, a bounded while."""
    return await settled(
        lambda: served(runtime, language), lambda got: got == expect, tries=50, pause=0.1
    )
