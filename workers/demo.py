"""The worked example, end to end, on a fresh embedded stack (``make demo``)."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime

import typer
from temporalio.client import Client

from orchestrator.audit.factory import describe_url
from orchestrator.audit.render import format_timeline
from orchestrator.audit.store import AuditStore
from orchestrator.client import occurrences
from orchestrator.client.submission import SubmitResult
from orchestrator.config.settings import Settings
from orchestrator.domain.flags import EvalContext
from orchestrator.domain.signals import BreachSignal, Segment, SignalStatus
from orchestrator.errors import OrchestratorError
from orchestrator.secrets import redact_text
from orchestrator.workflows.types import QUERY_STATE, IncidentPhase, IncidentState
from workers.stack import Stack, embedded_stack

SERVICE = "support-assistant"
FLAG = "support-assistant-answer-mode"
SPANISH = Segment(key="language", value="es")
BREACHES = (
    # (slo, dimension, observed, objective, burn rate)
    ("language-gap", "fairness", 7.4, 3.0, 9.2),
    ("task-success", "accuracy", 0.874, 0.92, 6.3),
)


def say(text: str) -> None:
    typer.echo(f"{datetime.now(UTC):%H:%M:%S}  {redact_text(text)}")


async def follow_audit(store: AuditStore, stop: asyncio.Event) -> int:
    """Print audit events as they land, until ``stop`` is set and everything is printed."""
    seen = 0
    while True:
        events = await store.events(since_seq=seen)
        for event in events:
            typer.echo("          " + redact_text(format_timeline([event]).strip()))
            seen = event.seq
        if stop.is_set() and not events:
            return seen
        await asyncio.sleep(0.2)


async def wait_for_phase(
    client: Client, incident_id: str, phases: set[IncidentPhase], timeout: float = 90.0
) -> IncidentState:
    handle = client.get_workflow_handle(incident_id)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state: IncidentState = await handle.query(QUERY_STATE, result_type=IncidentState)
        if state.phase in phases:
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise OrchestratorError(f"{incident_id} stayed {state.phase.value} for {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def what_users_get(stack: Stack) -> None:
    for language in ("es", "en"):
        ev = await stack.runtime.evaluator.evaluate(
            FLAG,
            EvalContext(
                kind="user", key=f"demo-user-{language}", attributes={"language": language}
            ),
        )
        say(f"SDK check: a user with language={language} is served {ev.value!r}")


async def run_demo(base: Settings) -> None:
    settings = base.with_overrides(state_dir=base.state_dir / "demo", audit_url="")
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    flags = (
        "LaunchDarkly (REST + streaming SDK)"
        if settings.flag_backend == "launchdarkly"
        else "local flag store"
    )
    say(f"starting the embedded stack: Temporal dev server, worker, {flags}, SQLite audit")
    async with embedded_stack(settings, fixed_ports=False) as stack:
        say(f"Temporal {stack.settings.temporal_address}, Web UI {stack.server.ui_url}")
        await what_users_get(stack)
        say(
            "a new prompt rollout lowers answer quality for Spanish-speaking users;"
            " latency stays green"
        )
        stop = asyncio.Event()
        follower = asyncio.create_task(follow_audit(stack.runtime.audit, stop))
        submitter = stack.runtime.submitter(stack.client)
        results: list[SubmitResult] = []
        for slo, dimension, observed, objective, burn in BREACHES:
            signal = BreachSignal(
                service=SERVICE,
                slo=slo,
                dimension=dimension,
                segment=SPANISH,
                observed=observed,
                objective=objective,
                burn_rate=burn,
                window="30d",
                source="demo",
                started_at=datetime.now(UTC),
            )
            result = await submitter.submit(signal)
            results.append(result)
            say(
                f"breach signal {slo} ({dimension}) language=es observed {observed:g} vs"
                f" {objective:g}: {result.status.value} incident {result.incident_id}"
            )
        opened: list[str] = []
        for result in results:
            occurrence = await occurrences.opened(
                stack.client, result.incident_id, open_only=True, timeout=30.0
            )
            opened.append(occurrence)
            state = await wait_for_phase(
                stack.client, occurrence, {IncidentPhase.MONITORING, IncidentPhase.FAILED}
            )
            say(f"{occurrence}: {state.severity}, playbook {state.playbook}, {state.phase.value}")
            if state.phase is IncidentPhase.FAILED:
                raise OrchestratorError(f"{occurrence} failed: {state.error}")
        await what_users_get(stack)
        say("the prompt is fixed and the SLOs recover: monitoring sends resolved signals")
        for slo, dimension, *_ in BREACHES:
            await submitter.submit(
                BreachSignal(
                    service=SERVICE,
                    slo=slo,
                    dimension=dimension,
                    segment=SPANISH,
                    status=SignalStatus.RESOLVED,
                    source="demo",
                )
            )
        for occurrence in opened:
            final = await stack.client.get_workflow_handle(
                occurrence, result_type=IncidentState
            ).result()
            say(f"{occurrence}: {final.phase.value}")
        await asyncio.sleep(0.5)
        stop.set()
        await follower
        report = await stack.runtime.audit.verify()
        if not report.ok:
            raise OrchestratorError(f"audit chain broken at seq {report.first_bad_seq}")
        say(
            f"audit chain verified: {report.checked} events, hash-chained, in"
            f" {describe_url(stack.settings.effective_audit_url)}"
        )
        timeline = await stack.runtime.audit.timeline(opened[0])
        say(f"timeline of {opened[0]}:")
        typer.echo(redact_text(format_timeline(timeline)))
    say("stack stopped. Inspect again with:")
    typer.echo(
        f"  .venv/bin/orchestrator --state-dir {settings.state_dir} audit --incident {opened[0]}"
    )
