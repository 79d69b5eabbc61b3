"""What a person does to a running incident: approve, deny, abort, launch or fast-track.

Plain async functions over a Temporal client, shared by the CLI (``orchestrator approve|deny|abort|
fast-track``) and the HTTP API. Each is a Temporal *update*: the workflow's validator refuses a
decision it cannot take (nothing pending, the two-person rule, the incident already closed) before
anything reaches the history, and the caller gets the refusal as a ValidationError with the
workflow's own words.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from orchestrator.client.connect import query, rpc_error
from orchestrator.client.occurrences import resolve
from orchestrator.client.submission import SignalSubmitter, SubmitResult
from orchestrator.domain.playbook import Playbook
from orchestrator.domain.policy_approval import ApprovalDecision, PendingApproval
from orchestrator.domain.policy_plan import FAST_TRACK_LABEL
from orchestrator.domain.signals import BreachSignal
from orchestrator.errors import (
    INCIDENT_FINISHED_ERROR_TYPE,
    IncidentFinishedError,
    NotFoundError,
    TemporalUnavailableError,
    ValidationError,
)
from orchestrator.workflows.types import (
    QUERY_STATE,
    UPDATE_ABORT,
    UPDATE_DECIDE,
    UPDATE_LAUNCH,
    AbortRequest,
    ControlAck,
    IncidentState,
    LaunchRequest,
)

UPDATE_TIMEOUT_SECONDS = 30.0
"""How long a decision waits for the incident to answer (a worker must pick the update up)."""


async def _update(client: Client, incident_id: str, name: str, arg: Any) -> ControlAck:
    incident_id = await resolve(client, incident_id, open_only=True)
    handle = client.get_workflow_handle(incident_id)
    try:
        ack: ControlAck = await asyncio.wait_for(
            handle.execute_update(name, arg, result_type=ControlAck), UPDATE_TIMEOUT_SECONDS
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # ours, or the server's own wait for the workflow to take the update, ran out
        raise TemporalUnavailableError(
            f"incident {incident_id} did not answer within {UPDATE_TIMEOUT_SECONDS:g}s:"
            " is a worker running on its task queue?"
        ) from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == INCIDENT_FINISHED_ERROR_TYPE:
            raise IncidentFinishedError(cause.message, incident_id) from None
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise ValidationError(message, incident_id) from None
    except RPCError as exc:
        raise rpc_error(exc, not_found=f"no running incident {incident_id!r}") from exc
    return ack


async def approve(
    client: Client, incident_id: str, *, by: str, step: str | None = None, reason: str = ""
) -> ControlAck:
    """Approve the step the incident waits on (``step`` guards against approving another one).

    ``outcome`` is ``granted``, or ``waiting`` when a two-person rule needs one more person.
    """
    decision = ApprovalDecision(approve=True, by=by, step_id=step, reason=reason)
    return await _update(client, incident_id, UPDATE_DECIDE, decision)


async def deny(
    client: Client, incident_id: str, *, by: str, step: str | None = None, reason: str = ""
) -> ControlAck:
    """Deny the step the incident waits on: it is skipped, the playbook goes on."""
    decision = ApprovalDecision(approve=False, by=by, step_id=step, reason=reason)
    return await _update(client, incident_id, UPDATE_DECIDE, decision)


async def abort(client: Client, incident_id: str, *, by: str, reason: str) -> ControlAck:
    """Stop the incident's playbook cleanly: the step in flight finishes, nothing more starts,
    effects stay in place (listed in the record), the incident ends ``aborted``."""
    return await _update(client, incident_id, UPDATE_ABORT, AbortRequest(by=by, reason=reason))


async def launch(
    client: Client,
    incident_id: str,
    *,
    playbook: Playbook,
    by: str,
    reason: str,
    fast_track: bool = False,
) -> ControlAck:
    """Run ``playbook`` in the running incident now (steps already done are not repeated).

    With ``fast_track`` the person's approval is given to every one-person approval step and the
    waits between mitigations are skipped, recorded as such.
    """
    request = LaunchRequest(playbook=playbook, by=by, reason=reason, fast_track=fast_track)
    return await _update(client, incident_id, UPDATE_LAUNCH, request)


async def launch_or_start(
    client: Client,
    submitter: SignalSubmitter,
    signal: BreachSignal,
    playbook: Playbook,
    incident_id: str,
    *,
    fast_track: bool = False,
) -> ControlAck | SubmitResult:
    """A person runs ``playbook`` for the signal's service and SLO (manual launch, fast-track).

    Into the running incident when there is one (:func:`launch`: steps already done are not
    repeated), else as a new incident launched by hand. ``signal`` names the person (``actor``),
    the reason, and labels the playbook reads (``component``, ``version``).
    """
    if not signal.actor or not signal.reason:
        raise ValidationError("a launch needs who (actor) and why (reason)", "signal")
    try:
        return await launch(
            client,
            incident_id,
            playbook=playbook,
            by=signal.actor,
            reason=signal.reason,
            fast_track=fast_track,
        )
    except (NotFoundError, IncidentFinishedError):
        pass  # no incident runs for the key: this launch starts one
    labels = {**signal.labels, FAST_TRACK_LABEL: "true"} if fast_track else signal.labels
    return await submitter.submit(
        signal.model_copy(update={"labels": labels, "playbook": playbook.name})
    )


async def fast_track(
    client: Client,
    submitter: SignalSubmitter,
    signal: BreachSignal,
    playbook: Playbook,
    incident_id: str,
) -> ControlAck | SubmitResult:
    """On-call's fast path: :func:`launch_or_start` with approvals given and waits skipped,
    recorded with the fast-track label."""
    return await launch_or_start(client, submitter, signal, playbook, incident_id, fast_track=True)


async def pending_approval(client: Client, incident_id: str) -> PendingApproval | None:
    """The step the incident waits to have approved, if any."""
    incident_id = await resolve(client, incident_id, open_only=False)
    state = await query(
        client, incident_id, QUERY_STATE, IncidentState, not_found=f"no incident {incident_id!r}"
    )
    return state.pending_approval
