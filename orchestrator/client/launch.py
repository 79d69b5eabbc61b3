"""Manual launch: an on-call engineer runs a playbook for a service (CLI and HTTP API)."""

from __future__ import annotations

import pydantic

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.playbook import PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, Segment
from orchestrator.errors import NotFoundError, ValidationError


def signal_from_fields(where: str, **fields: object) -> BreachSignal:
    """Validate a signal, turning pydantic's report into one ValidationError naming the field."""
    try:
        return BreachSignal.model_validate({k: v for k, v in fields.items() if v is not None})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ValidationError(f"{field}: {first['msg']}", where) from None


def launch_signal(
    catalog: Catalog,
    library: PlaybookLibrary,
    *,
    playbook: str,
    service: str,
    reason: str,
    actor: str,
    slo: str | None = None,
    segment: Segment | None = None,
    source: str = "cli",
    labels: dict[str, str] | None = None,
) -> BreachSignal:
    """The firing signal that launches ``playbook`` by hand, recorded with who and why.

    Without ``slo``, the incident is about the first SLO of the service in a dimension the
    playbook handles.
    """
    if not reason.strip():
        raise ValidationError("a reason is required for a manual launch", "reason")
    if not actor.strip():
        raise ValidationError("who launches it is required", "actor")
    try:
        book = library.by_name(playbook)
    except NotFoundError as exc:
        raise ValidationError(str(exc), "playbook") from None
    svc = catalog.service(service)
    if slo is not None:
        spec = svc.slo(slo)
    else:
        matching = [s for s in svc.slos if s.dimension in book.match.dimensions]
        if not matching:
            raise ValidationError(
                f"service {service} has no SLO in the dimensions playbook {playbook} handles"
                f" ({', '.join(book.match.dimensions)}); name one with slo"
            )
        spec = matching[0]
    return signal_from_fields(
        "launch",
        service=service,
        slo=spec.name,
        dimension=spec.dimension,
        segment=segment,
        objective=spec.objective,
        window=spec.window,
        source=source,
        actor=actor,
        playbook=playbook,
        reason=reason,
        labels=labels or None,
    )
