"""The SQL of an :class:`~orchestrator.audit.query.EventFilter`, for both backends.

One builder, two dialects: SQLite reads ``data`` with ``json_extract`` and keeps ``at`` as ISO
text (UTC, microseconds, so text order is time order); PostgreSQL reads it with ``->>`` and keeps
``at`` as ``timestamptz``. The expressions here are the very ones the backends index (see
:data:`SQLITE_INDEXES` / :data:`POSTGRES_INDEXES`), so the planner can use the indexes: an
incident attribute (severity, dimension, segment) becomes ``incident_id IN (...)`` over a partial
expression index of the few events that carry it; time ranges use the index on ``at``; paging is
keyset by ``seq`` (the primary key), never OFFSET.

Nothing is added to the stored rows: the hash chain's bytes stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orchestrator.audit.model import AuditKind, IncidentState, iso_utc
from orchestrator.audit.query import TARGET_FIELDS, EventFilter
from orchestrator.audit.rows import occurrences_of


@dataclass(frozen=True)
class Dialect:
    param: str
    """The placeholder: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    field: Callable[..., str]
    """``field(path, column="data")``: SQL reading the text at a path of keys of a JSON column."""
    time: Callable[[datetime], Any]
    """A datetime as the ``at`` column compares."""
    greatest: str
    by_incident: str
    """After a table's alias in a per-incident lookup: SQLite's planner, without statistics, would
    rather walk the (kind, seq) index over every incident's events; PostgreSQL plans by its own
    statistics."""


def _table(d: Dialect) -> str:
    return "{t}" if d is POSTGRES else "audit_events"


def _sqlite_field(path: str, column: str = "data") -> str:
    return f"json_extract({column}, '$.{path}')"


def _postgres_field(path: str, column: str = "data") -> str:
    *parents, last = path.split(".")
    return f"({column}" + "".join(f"->'{p}'" for p in parents) + f"->>'{last}')"


SQLITE = Dialect(
    param="?",
    field=_sqlite_field,
    time=iso_utc,
    greatest="max",
    by_incident=" INDEXED BY audit_events_incident",
)
POSTGRES = Dialect(
    param="%s", field=_postgres_field, time=lambda at: at, greatest="GREATEST", by_incident=""
)
NO_SEQ = 2**63 - 1
"""A seq beyond every event (the bound when nothing is recent enough)."""

_SEVERITY = (AuditKind.SEVERITY_CLASSIFIED, "severity")
_SIGNAL = AuditKind.SIGNAL_RECEIVED


def _indexes(d: Dialect, table: str) -> tuple[str, ...]:
    signal = f"kind = '{_SIGNAL.value}'"
    return (
        f"CREATE INDEX IF NOT EXISTS audit_events_at ON {table} (at, seq)",
        f"CREATE INDEX IF NOT EXISTS audit_events_kind ON {table} (kind, seq)",
        f"CREATE INDEX IF NOT EXISTS audit_events_severity ON {table}"
        f" ({d.field('severity')}, incident_id) WHERE kind = '{_SEVERITY[0].value}'",
        f"CREATE INDEX IF NOT EXISTS audit_events_dimension ON {table}"
        f" ({d.field('dimension')}, incident_id) WHERE {signal}",
        f"CREATE INDEX IF NOT EXISTS audit_events_segment ON {table}"
        f" ({d.field('segment.key')}, {d.field('segment.value')}, incident_id) WHERE {signal}",
    )


SQLITE_INDEXES = _indexes(SQLITE, "audit_events")
"""Indexes the queries use; created (once, for existing files too) when a store opens."""


def postgres_indexes() -> tuple[str, ...]:
    """As :data:`SQLITE_INDEXES`, with ``{t}`` for the table (a ``psycopg.sql`` template; a
    PostgreSQL index lives in its table's schema, so its name needs no schema)."""
    return _indexes(POSTGRES, "{t}")


def where(flt: EventFilter, d: Dialect, *, after_seq: int = 0) -> tuple[str, list[Any]]:
    """``WHERE ...`` (always at least the seq bound) and its parameters, in order."""
    p = d.param
    clauses: list[str] = [f"seq > {p}"]
    params: list[Any] = [after_seq]

    def add(clause: str, *values: Any) -> None:
        clauses.append(clause)
        params.extend(values)

    if flt.occurrence is not None:
        add(f"incident_id = {p}", flt.occurrence)
    if flt.key is not None:
        add(
            f"(incident_id = {p} OR substr(incident_id, 1, {p}) = {p})",
            flt.key,
            *occurrences_of(flt.key),
        )
    for column in ("service", "slo", "actor"):
        value = getattr(flt, column)
        if value is not None:
            add(f"{column} = {p}", value)
    table = _table(d)
    if flt.since is not None:
        add(f"at >= {p}", d.time(flt.since))
        if after_seq == 0:
            # The first page starts at the least seq of the events at or after ``since`` (read
            # from the (at, seq) index), not at seq 1; later pages start at their cursor, past
            # it already. ``at`` is workflow time, not in seq order (an event may be written
            # late), so the least seq is the bound, not the seq of the earliest ``at``. ``+ 0``:
            # both planners would otherwise walk the primary key from seq 1 to find a min(seq).
            # One lower bound on seq, so the planner starts its primary-key range there.
            clauses[0] = (
                f"seq > {d.greatest}({p}, coalesce((SELECT min(seq + 0) FROM {table}"  # noqa: S608
                f" WHERE at >= {p}), {NO_SEQ}) - 1)"
            )
            params.insert(1, d.time(flt.since))
    if flt.until is not None:
        add(f"at < {p}", d.time(flt.until))
    kinds = flt.kinds
    if kinds is not None:
        if not kinds:
            add("1 = 0")
        else:
            add(f"kind IN ({', '.join([p] * len(kinds))})", *(k.value for k in kinds))
    if flt.action is not None:
        add(f"{d.field('action')} = {p}", flt.action)
    if flt.target is not None:
        fields = ", ".join(d.field(f) for f in TARGET_FIELDS)
        add(f"{p} IN ({fields})", flt.target)
    for clause, values in _incident_clauses(flt, d):
        add(clause, *values)
    return "WHERE " + " AND ".join(clauses), params


def _incident_clauses(flt: EventFilter, d: Dialect) -> list[tuple[str, list[Any]]]:
    """Incident attributes: ``incident_id IN`` the incidents whose events carry them."""
    p = d.param
    out: list[tuple[str, list[Any]]] = []
    table = _table(d)

    def incidents_where(kind: AuditKind, condition: str, *values: Any) -> None:
        out.append(
            (
                f"incident_id IN (SELECT incident_id FROM {table}"  # noqa: S608 - constants;
                f" WHERE kind = '{kind.value}' AND {condition})",  # values are parameters
                list(values),
            )
        )

    if flt.severity is not None:
        incidents_where(_SEVERITY[0], f"{d.field('severity')} = {p}", flt.severity.value)
    if flt.dimension is not None:
        incidents_where(_SIGNAL, f"{d.field('dimension')} = {p}", flt.dimension)
    parts = flt.segment_parts
    if parts is not None:
        incidents_where(
            _SIGNAL,
            f"{d.field('segment.key')} = {p} AND {d.field('segment.value')} = {p}",
            *parts,
        )
    return out


_LIFECYCLE = "('incident_opened', 'incident_resolved', 'incident_closed', 'incident_aborted')"


def incidents(
    flt: EventFilter, d: Dialect, *, state: IncidentState | None, limit: int
) -> tuple[str, list[Any]]:
    """Incidents with any event ``flt`` matches, most recently active first: one row each of
    incident_id, service, slo, first_at, last_at, events, last kind, latest severity, latest
    lifecycle kind (see ``rows.summary_from_row``). Span and count are over all the incident's
    events; ``flt.severity`` is then its latest classification, ``state`` its latest lifecycle."""
    p = d.param
    table = _table(d)
    hint = d.by_incident
    clause, params = where(flt, d)
    severity = d.field("severity", "s.data")
    outer: list[str] = []
    if flt.severity is not None:
        outer.append(f"sev = {p}")
        params.append(flt.severity.value)
    if state is IncidentState.OPEN:
        outer.append("(lifecycle IS NULL OR lifecycle = 'incident_opened')")
    elif state is not None:
        outer.append(f"lifecycle = {p}")
        params.append(_STATE_KIND[state].value)
    params.append(limit)
    text = f"""
WITH g AS (
    SELECT incident_id, COUNT(*) AS n, MIN(at) AS first_at, MAX(at) AS last_at,
           MIN(seq) AS first_seq, MAX(seq) AS last_seq
    FROM {table}
    WHERE incident_id IN (SELECT incident_id FROM {table} {clause})
    GROUP BY incident_id
), s AS (
    SELECT g.*,
        (SELECT {severity} FROM {table} s{hint} WHERE s.incident_id = g.incident_id
           AND s.kind = 'severity_classified' ORDER BY s.seq DESC LIMIT 1) AS sev,
        (SELECT c.kind FROM {table} c{hint} WHERE c.incident_id = g.incident_id
           AND c.kind IN {_LIFECYCLE} ORDER BY c.seq DESC LIMIT 1) AS lifecycle
    FROM g
)
SELECT s.incident_id, f.service, f.slo, s.first_at, s.last_at, s.n, l.kind, s.sev, s.lifecycle
FROM s JOIN {table} f ON f.seq = s.first_seq JOIN {table} l ON l.seq = s.last_seq
{"WHERE " + " AND ".join(outer) if outer else ""}
ORDER BY s.last_seq DESC LIMIT {p}
"""  # noqa: S608 - constant names; every value is a parameter
    return text, params


_STATE_KIND = {
    IncidentState.RESOLVED: AuditKind.INCIDENT_RESOLVED,
    IncidentState.CLOSED: AuditKind.INCIDENT_CLOSED,
    IncidentState.ABORTED: AuditKind.INCIDENT_ABORTED,
}
