"""Reading incidents from Temporal: the list (visibility) and one incident's live state (query).

Shared by the CLI (`orchestrator incidents`, `status`) and the HTTP API (`GET /v1/incidents`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from orchestrator.client.connect import query, rpc_error
from orchestrator.client.occurrences import resolve
from orchestrator.errors import NotFoundError
from orchestrator.workflows.types import (
    QUERY_STATE,
    SA_PLAYBOOK,
    SA_SERVICE,
    SA_SEVERITY,
    SA_SLO,
    SA_STATE,
    IncidentState,
)


class IncidentRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    incident_id: str
    key: str
    """The incident key the occurrence belongs to (its id for incidents of the older shape)."""
    service: str
    slo: str
    severity: str
    playbook: str
    state: str
    running: bool
    started: str


def _quoted(value: str) -> str:
    """A visibility-query string literal; names are slugs, anything else is refused."""
    if not value.replace("-", "").isalnum():
        raise NotFoundError(f"no such service {value!r}")
    return f"'{value}'"


async def list_incidents(
    client: Client, *, service: str | None = None, include_closed: bool = False, limit: int = 200
) -> list[IncidentRow]:
    query = "WorkflowType = 'IncidentWorkflow'"
    if not include_closed:
        query += " AND ExecutionStatus = 'Running'"
    if service:
        query += f" AND Service = {_quoted(service)}"
    try:
        return [row async for row in _rows(client, query, limit)]
    except RPCError as exc:
        raise rpc_error(exc) from exc


async def _rows(client: Client, query: str, limit: int) -> AsyncIterator[IncidentRow]:
    async for wf in client.list_workflows(query, limit=limit):
        attrs = wf.typed_search_attributes
        yield IncidentRow(
            incident_id=wf.id,
            key=wf.parent_id or wf.id,
            service=attrs.get(SA_SERVICE) or "",
            slo=attrs.get(SA_SLO) or "",
            severity=attrs.get(SA_SEVERITY) or "-",
            playbook=attrs.get(SA_PLAYBOOK) or "-",
            state=attrs.get(SA_STATE) or "-",
            running=wf.status == WorkflowExecutionStatus.RUNNING,
            started=wf.start_time.isoformat(timespec="seconds"),
        )


async def incident_state(client: Client, incident_id: str) -> IncidentState:
    """The live state of an incident (its latest run), from the workflow's ``state`` query; a
    key means its open occurrence, or its latest."""
    incident_id = await resolve(client, incident_id, open_only=False)
    return await query(
        client,
        incident_id,
        QUERY_STATE,
        IncidentState,
        not_found=f"no incident {incident_id!r} in Temporal",
    )
