"""``GET /v1/incidents/{incident_id}/report?format=md|html``: the incident report, from the audit
store (viewer role). The catalog gives the SLO's objective where a signal does not carry one."""

from __future__ import annotations

from starlette.responses import Response

from orchestrator.audit.model import StoredEvent
from orchestrator.audit.report import build_report
from orchestrator.audit.report_model import Objective
from orchestrator.audit.report_render import FORMATS, MEDIA_TYPES, ReportFormat, render_report
from orchestrator.domain.catalog import Catalog
from orchestrator.errors import CatalogError, NotFoundError, ValidationError


def objectives(catalog: Catalog | None, service: str) -> dict[str, Objective]:
    """What each SLO of ``service`` promises; empty when the catalog does not know the service
    (a report of an old incident must not fail because the catalog moved on)."""
    if catalog is None:
        return {}
    try:
        slos = catalog.service(service).slos
    except CatalogError:
        return {}
    return {
        s.name: Objective(
            objective=s.objective, comparison=s.comparison, unit=s.unit, window=s.window
        )
        for s in slos
    }


def report_format(value: str | None) -> ReportFormat:
    chosen = (value or "md").lower()
    for fmt in FORMATS:
        if chosen == fmt:
            return fmt
    raise ValidationError(f"must be one of {', '.join(FORMATS)}, not {value!r}", "format")


def render_incident_report(
    incident_id: str, events: list[StoredEvent], catalog: Catalog | None, fmt: ReportFormat
) -> str:
    if not events:
        raise NotFoundError(f"no audit events for incident {incident_id!r}")
    return render_report(build_report(events, objectives(catalog, events[0].service)), fmt)


def report_response(text: str, fmt: ReportFormat, incident_id: str) -> Response:
    """The report inline (a browser shows it); its file name for a download."""
    name = f"{incident_id}.{fmt}".replace('"', "")
    return Response(
        text,
        media_type=MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            # The report is self-contained: nothing for it to fetch, no script to run.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )
