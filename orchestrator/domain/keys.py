"""Which incident key a signal belongs to: its service and SLO, and its segment when the playbook
that answers it keeps one incident per segment (``per_segment: true``).

Every way in (ingest, CLI, API, the dry-run plan) asks here, so a firing and its resolution, sent
by different tools, always meet at the same key.
"""

from __future__ import annotations

import hashlib

from orchestrator.domain.catalog import Catalog
from orchestrator.domain.playbook import Playbook, PlaybookLibrary
from orchestrator.domain.signals import BreachSignal, workflow_id_for
from orchestrator.errors import NotFoundError, ValidationError


def playbooks_for(
    signal: BreachSignal, catalog: Catalog, library: PlaybookLibrary
) -> tuple[Playbook, ...]:
    """The playbook the signal names (refused when it does not fit the service), or those policy
    may choose from, most specific first."""
    service, slo = catalog.resolve(signal)
    if signal.playbook:
        try:
            playbook = library.by_name(signal.playbook)
        except NotFoundError as exc:
            raise ValidationError(str(exc), "signal.playbook") from None
        if playbook.match.services and service.name not in playbook.match.services:
            raise ValidationError(f"playbook {playbook.name!r} is not for service {service.name!r}")
        return (playbook,)
    return library.candidates_for(service.name, slo.dimension, slo=slo.name)


def incident_key(
    signal: BreachSignal, catalog: Catalog, library: PlaybookLibrary, prefix: str = "incident"
) -> str:
    """The key's workflow id. The segment is part of it when the signal has one and the most
    specific playbook for it is ``per_segment``; a resolution must name the same segment."""
    service, slo = catalog.resolve(signal)
    books = playbooks_for(signal, catalog, library)
    segment = signal.segment if books and books[0].per_segment else None
    return workflow_id_for(service.name, slo.name, prefix, segment)


def fit(key: str, limit: int) -> str:
    """``key`` when it fits ``limit`` characters, else its head, ``~`` and a digest of the whole
    (the same key always gives the same result, two keys that differ keep differing)."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key[: limit - len(digest) - 1]}~{digest}"
