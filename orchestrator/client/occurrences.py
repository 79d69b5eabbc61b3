"""From what a person types to the occurrence it means.

Ids come in two shapes: an incident key (``<prefix>-<service>--<slo>``, the key's workflow) and
an occurrence (``<key>--<yyyymmdd-hhmmss>``, one ``IncidentWorkflow``). Commands that act on an
incident (approve, deny, abort, launch, status) accept either: a key means its open occurrence
(or, for reading, its latest one). An incident started before occurrences existed has a key-shaped
id and answers for itself.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowQueryFailedError

from orchestrator.client.connect import query
from orchestrator.errors import NotFoundError, TemporalUnavailableError
from orchestrator.workflows.key_types import KeyState
from orchestrator.workflows.types import QUERY_KEY


def is_occurrence_id(incident_id: str) -> bool:
    return incident_id.count("--") >= 2


async def key_state(client: Client, key: str) -> KeyState | None:
    """The key workflow's state; None when ``key`` names an incident of the older shape."""
    try:
        return await query(client, key, QUERY_KEY, KeyState, not_found=f"no incident {key!r}")
    except WorkflowQueryFailedError:
        return None


async def resolve(client: Client, incident_id: str, *, open_only: bool) -> str:
    """The occurrence id ``incident_id`` means (itself when it is one)."""
    if is_occurrence_id(incident_id):
        return incident_id
    state = await key_state(client, incident_id)
    if state is None:
        return incident_id
    if state.open:
        return state.open
    if open_only or not state.occurrences:
        raise NotFoundError(f"no open incident for {incident_id!r}")
    return state.occurrences[-1].id


async def opened(client: Client, key: str, *, open_only: bool, timeout: float) -> str:
    """The occurrence ``key`` means once its workflow has opened one (a signal just submitted
    waits in Temporal until a worker runs the key's workflow); NotFoundError after ``timeout``
    seconds without one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            found = await resolve(client, key, open_only=open_only)
            if is_occurrence_id(found):
                return found
        except (NotFoundError, TemporalUnavailableError):
            pass
        if loop.time() > deadline:
            raise NotFoundError(f"{key} opened no occurrence within {timeout:g}s")
        await asyncio.sleep(0.05)
