"""Catalog SLIs -> OpenSLO ``v1`` documents: a ``Service`` per service and an ``SLO`` per SLO,
each with its indicator inline (``ratioMetric`` over Prometheus queries).

OpenSLO has no segments and no fairness SLI. Segmented SLOs say so in their description; the
fairness SLO is emitted as the nearest: a ``raw`` failure ratio read from the gap series the
Prometheus rules record (``slo:segment_gap:points_rate5m / 100``), with target
``1 - allowed points / 100`` (docs/slo.md).
"""

from __future__ import annotations

from typing import Any

from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.sli import FairnessSli, LatencySli, Sli
from orchestrator.slo.prometheus import GAP
from orchestrator.slo.promql import good_and_total, number, sli_of
from orchestrator.slo.windows import Windows
from orchestrator.slo.yamlout import dump

API = "openslo/v1"
FAIRNESS_NOTE = (
    "{slo}: OpenSLO has no fairness SLI; emitted as the nearest, a raw failure ratio read from"
    " the recorded gap series (deploy the Prometheus rules too)"
)


def dns_label(name: str) -> str:
    """OpenSLO names are RFC 1123 labels: at most 63 characters, not ending in ``-``."""
    return name[:63].rstrip("-")


def _source(query: str) -> dict[str, Any]:
    return {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}


def _aggregate(selector: str, sli: Sli) -> str:
    by = f" by ({', '.join(sli.segment_by)})" if sli.segment_by else ""
    return f"sum{by} ({selector})"


def indicator(service: str, slo: Slo, sli: Sli) -> dict[str, Any]:
    if isinstance(sli, FairnessSli):
        gap = f'{GAP.format("5m")}{{service="{service}",slo="{slo.name}"}} / 100'
        ratio: dict[str, Any] = {"rawType": "failure", "raw": _source(gap)}
    else:
        good, total = good_and_total(sli)
        ratio = {
            "counter": True,
            "good": _source(_aggregate(good, sli)),
            "total": _source(_aggregate(total, sli)),
        }
    return {
        "metadata": {"name": dns_label(f"{service}-{slo.name}-sli")},
        "spec": {"ratioMetric": ratio},
    }


def target(sli: Sli, slo: Slo) -> float:
    if isinstance(sli, FairnessSli):
        return 1 - slo.objective / 100
    if isinstance(sli, LatencySli):
        return sli.percentile
    return slo.objective


def description(slo: Slo, sli: Sli) -> str:
    text = f"{slo.metric} {slo.comparison} {slo.objective:g} {slo.unit}".strip()
    if isinstance(sli, FairnessSli):
        return f"{text}. Nearest OpenSLO form: failure ratio = gap to the best-served segment."
    if sli.segment_by:
        text += f". Held per {', '.join(sli.segment_by)} (not expressible in OpenSLO)"
    if sli.min_sample:
        text += f"; segments need {sli.min_sample} events in a window"
    return text


def slo_document(service: Service, slo: Slo) -> dict[str, Any]:
    sli = sli_of(service.name, slo)
    return {
        "apiVersion": API,
        "kind": "SLO",
        "metadata": {"name": dns_label(f"{service.name}-{slo.name}"), "displayName": slo.metric},
        "spec": {
            "description": description(slo, sli)[:1050],
            "service": service.name,
            "indicator": indicator(service.name, slo, sli),
            "timeWindow": [{"duration": slo.window, "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [
                {
                    "displayName": f"{slo.comparison} {slo.objective:g} {slo.unit}".strip(),
                    "target": float(number(target(sli, slo))),
                }
            ],
        },
    }


def openslo_documents(
    chosen: list[tuple[Service, tuple[Slo, ...]]], windows: Windows
) -> tuple[str, list[str], int]:
    """(YAML stream, notes, SLO count). OpenSLO tools pick their own windows: no scaling."""
    del windows
    docs: list[dict[str, Any]] = []
    notes: list[str] = []
    for service, slos in chosen:
        docs.append(
            {
                "apiVersion": API,
                "kind": "Service",
                "metadata": {"name": service.name},
                "spec": {"description": service.description[:1050]},
            }
        )
        docs.extend(slo_document(service, slo) for slo in slos)
        notes.extend(
            FAIRNESS_NOTE.format(slo=f"{service.name}/{s.name}")
            for s in slos
            if isinstance(s.sli, FairnessSli)
        )
    return "---\n".join(dump(d) for d in docs), notes, len(docs) - len(chosen)
