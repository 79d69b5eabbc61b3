"""Which catalog SLO an alert names, after the normalisation real rule generators call for.

Hand-written rules send ``slo="task-success"``; Sloth sends ``sloth_slo`` and ``sloth_id``
(``<service>-<slo>``); Pyrra's ``slo`` label is its SLO object's name, often
``<service>-<slo>`` or ``<service>-<dimension>-<slo>``; recording-rule habits turn dashes into
underscores. A name matches a catalog SLO when, after **normalisation**, it equals the SLO's
normalised name:

1. lower case, and every run of characters other than letters and digits becomes one ``-``
   (``Support_Assistant:Task.Success`` -> ``support-assistant-task-success``);
2. then, if still no match, a leading ``<service>-`` is dropped;
3. then, if still no match, a leading ``<dimension>-`` (any catalog dimension) is dropped.

Service names are matched after step 1 as well. A service or SLO the catalog does not have is an
error that lists the names it does have. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.domain.catalog import Catalog, Service, Slo

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalised(name: str) -> str:
    """Step 1 of the normalisation: lower case, runs of other characters to one dash."""
    return _NOT_WORD.sub("-", name.lower()).strip("-")


@dataclass(frozen=True)
class SloMatch:
    """The catalog's names for what an alert is about, and the labels that define its segments."""

    service: str
    slo: str
    dimension: str
    segment_by: tuple[str, ...]


class NotInCatalogError(ValueError):
    """No such service, or the service has no SLO by that name; the message lists the known ones."""


def segment_labels(slo: Slo) -> tuple[str, ...]:
    """The labels that define the SLO's segments (``sli.segment_by``: ``[language]``), in order."""
    return slo.sli.segment_by if slo.sli is not None else ()


class SloNames:
    """The catalog's services and SLOs, found by the names alerts use for them."""

    def __init__(self, catalog: Catalog) -> None:
        self._services: dict[str, Service] = {normalised(s.name): s for s in catalog.services}
        self._services_named = tuple(s.name for s in catalog.services)
        self._dimension_prefixes = tuple(f"{normalised(d)}-" for d in catalog.dimensions)

    def service(self, name: str) -> Service | None:
        return self._services.get(normalised(name))

    def find(self, service_name: str, slo_name: str) -> SloMatch:
        """The SLO an alert names; :class:`NotInCatalogError` when the catalog does not have it."""
        service = self.service(service_name)
        if service is None:
            known = ", ".join(self._services_named)
            raise NotInCatalogError(f"unknown service {service_name[:80]!r} (catalog has: {known})")
        by_name = {normalised(s.name): s for s in service.slos}
        for candidate in self._candidates(normalised(slo_name), normalised(service.name)):
            slo = by_name.get(candidate)
            if slo is not None:
                return SloMatch(service.name, slo.name, slo.dimension, segment_labels(slo))
        known = ", ".join(s.name for s in service.slos)
        raise NotInCatalogError(
            f"service {service.name!r} has no SLO {slo_name[:80]!r} (known: {known}; names match"
            " after dropping case, punctuation, and a leading service or dimension name)"
        )

    def _candidates(self, name: str, service: str) -> list[str]:
        out = [name]
        if name.startswith(f"{service}-"):
            name = name[len(service) + 1 :]
            out.append(name)
        for prefix in self._dimension_prefixes:
            if name.startswith(prefix):
                out.append(name[len(prefix) :])
        return out
