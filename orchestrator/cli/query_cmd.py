"""``orchestrator audit query`` and ``orchestrator stats``: the audit history filtered, as rows or
as figures. The filter options are the words of :func:`orchestrator.audit.query.parse_filter`
(the API's query parameters too); ``incidents`` uses some of them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import typer

from orchestrator.audit.factory import open_audit_store
from orchestrator.audit.model import StoredEvent
from orchestrator.audit.query import FILTER_FIELDS, MAX_PAGE, EventFilter, FilterError, parse_filter
from orchestrator.audit.report_figures import format_duration
from orchestrator.audit.stats import Durations, IncidentStats, incident_stats
from orchestrator.cli.common import echo, echo_json, fail, run, settings_of
from orchestrator.cli.tabular import FORMAT_OPTION, check_format, emit, table

SERVICE = typer.Option(None, "--service", help="Service name")
SLO = typer.Option(None, "--slo", help="SLO name")
DIMENSION = typer.Option(None, "--dimension", help="SLO dimension its incident was signalled for")
SEGMENT = typer.Option(None, "--segment", help="key=value: incidents signalled for that segment")
SEVERITY = typer.Option(None, "--severity", help="SEV1, SEV2, SEV3 or SEV4")
SINCE = typer.Option(None, "--since", help="From: 7d, 12h, 30m ago, or an ISO time (UTC if bare)")
UNTIL = typer.Option(None, "--until", help="Before: 7d, 12h, 30m ago, or an ISO time")
OCCURRENCE = typer.Option(None, "--occurrence", help="One occurrence (incident id)")
KEY = typer.Option(None, "--key", help="An incident key: its notes and all its occurrences")
ACTOR = typer.Option(None, "--actor", help="Who: a principal, a signal source, orchestrator")
KIND = typer.Option(None, "--kind", help="Event kind, e.g. effect_applied (docs/audit.md)")
ACTION = typer.Option(None, "--action", help="Step action, e.g. flag.route_segment")
TARGET = typer.Option(
    None, "--target", help="What an effect acted on: a flag, component (model), ticket, page target"
)
OUTCOME = typer.Option(
    None, "--outcome", help="applied, unchanged, passed, failed, skipped, requested, granted, ..."
)
EVENT_COLUMNS = ("seq", "at", "incident_id", "kind", "actor", "summary")
CSV_COLUMNS = (
    "seq",
    "at",
    "incident_id",
    "run_id",
    "kind",
    "actor",
    "service",
    "slo",
    "summary",
    "data",
    "event_key",
    "recorded_at",
    "prev_hash",
    "hash",
)


def build_filter(options: Mapping[str, Any]) -> EventFilter:
    """The filter of a command's options (its ``locals()``: the names in FILTER_FIELDS are
    taken); a one-line error (exit 2) when one is bad."""
    words = {k: v for k, v in options.items() if k in FILTER_FIELDS}
    try:
        return parse_filter(words, now=datetime.now(UTC))
    except FilterError as exc:
        raise fail(str(exc)) from None


def query(
    ctx: typer.Context,
    occurrence: str | None = OCCURRENCE,
    key: str | None = KEY,
    service: str | None = SERVICE,
    slo: str | None = SLO,
    dimension: str | None = DIMENSION,
    segment: str | None = SEGMENT,
    severity: str | None = SEVERITY,
    actor: str | None = ACTOR,
    kind: str | None = KIND,
    action: str | None = ACTION,
    target: str | None = TARGET,
    outcome: str | None = OUTCOME,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    limit: int = typer.Option(100, "--limit", help=f"Events per page, 1 to {MAX_PAGE}"),
    after: int = typer.Option(0, "--after", help="Page after this seq (the last one printed)"),
    fmt: str = FORMAT_OPTION,
) -> None:
    """Audit events matching every filter given, in seq order, one page at a time.

    Severity, dimension and segment select incidents (every event of an incident classified or
    signalled so); the other filters select events. When the page is full, the command to get
    the next one is printed on stderr (--after SEQ).
    """
    check_format(fmt)
    if not 1 <= limit <= MAX_PAGE:
        raise fail(f"--limit must be between 1 and {MAX_PAGE}, got {limit}")
    if after < 0:
        raise fail(f"--after must be a seq (0 or more), got {after}")
    flt = build_filter(locals())
    settings = settings_of(ctx)

    async def body() -> list[StoredEvent]:
        store = open_audit_store(settings.effective_audit_url)
        try:
            return await store.query(flt, limit=limit, after_seq=after)
        finally:
            await store.close()

    events = run(body)
    rows = [e.model_dump(mode="json") for e in events]
    emit(rows, CSV_COLUMNS if fmt == "csv" else EVENT_COLUMNS, fmt)
    if len(events) == limit:
        echo(f"more: --after {events[-1].seq}", err=True)


def stats(
    ctx: typer.Context,
    service: str | None = SERVICE,
    slo: str | None = SLO,
    dimension: str | None = DIMENSION,
    segment: str | None = SEGMENT,
    severity: str | None = SEVERITY,
    key: str | None = KEY,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    fmt: str = typer.Option("table", "--format", "-f", help="table or json"),
) -> None:
    """Incident figures from the audit history: counts by service, SLO, segment and severity;
    median and p90 time to mitigate and to recover; playbooks that recovered with or without a
    human; steps that failed or waited for approval; keys that recurred (docs/audit.md)."""
    check_format(fmt, ("table", "json"))
    flt = build_filter(locals())
    settings = settings_of(ctx)

    async def body() -> IncidentStats:
        store = open_audit_store(settings.effective_audit_url)
        try:
            return await incident_stats(store, flt)
        finally:
            await store.close()

    result = run(body)
    if fmt == "json":
        echo_json(result.model_dump(mode="json"))
    else:
        print_stats(result)


def print_stats(s: IncidentStats) -> None:
    echo(f"{s.incidents} incidents, {s.events} events")
    for title, counts in (
        ("service", s.by_service),
        ("slo", s.by_slo),
        ("segment", s.by_segment),
        ("severity", s.by_severity),
    ):
        echo("")
        table([{title: k, "incidents": v} for k, v in counts.items()], (title, "incidents"))
    echo("")
    table(
        [
            _durations("time to mitigate", s.time_to_mitigate),
            _durations("time to recover", s.time_to_recover),
        ],
        ("measure", "incidents", "median", "p90"),
    )
    sections: list[tuple[str, list[dict[str, Any]], tuple[str, ...]]] = [
        (
            "no playbook ran",
            [r.model_dump() for r in s.playbooks],
            ("playbook", "incidents", "recovered", "recovered_without_human"),
        ),
        (
            "no step left a record",
            [r.model_dump() for r in s.steps],
            ("playbook", "step", "incidents", "failed", "waited"),
        ),
        ("no key recurred", [r.model_dump() for r in s.recurring_keys], ("key", "occurrences")),
    ]
    for empty, rows, columns in sections:
        echo("")
        if rows:
            table(rows, columns)
        else:
            echo(empty)


def _durations(name: str, d: Durations) -> dict[str, Any]:
    def shown(seconds: float | None) -> str:
        return "-" if seconds is None else format_duration(seconds)

    return {
        "measure": name,
        "incidents": d.n,
        "median": shown(d.median_seconds),
        "p90": shown(d.p90_seconds),
    }


def register(app: typer.Typer) -> None:
    """``stats``; ``audit query`` is added by :mod:`~orchestrator.cli.audit_cmd`."""
    app.command()(stats)
