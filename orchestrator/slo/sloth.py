"""Catalog SLIs -> Sloth ``prometheus/v1`` specs, for teams that generate their rules with Sloth.

Sloth takes the SLO period from its command line, not the spec, so the output holds one spec per
service and SLO window, each headed by the ``sloth generate`` flags it needs. Sloth has no
fairness SLI: the nearest is a raw error ratio equal to the gap (as a fraction) with an objective
of ``100 - allowed points``, which makes Sloth's burn rates the same as ours (docs/slo.md).
"""

from __future__ import annotations

from typing import Any

from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.sli import FairnessSli, LatencySli, Sli
from orchestrator.slo.prometheus import runbook
from orchestrator.slo.promql import (
    error_ratio,
    good_and_total,
    number,
    rate_sum,
    sli_of,
    success_ratio,
)
from orchestrator.slo.windows import Windows
from orchestrator.slo.yamlout import dump

WINDOW = "{{.window}}"
FAIRNESS_NOTE = (
    "{slo}: Sloth has no fairness SLI; emitted as the nearest, a raw error ratio equal to the gap"
    " to the best-served segment (objective {objective} = 100 - allowed points)"
)


def objective_percent(sli: Sli, slo: Slo) -> float:
    if isinstance(sli, FairnessSli):
        return 100 - slo.objective
    if isinstance(sli, LatencySli):
        return sli.percentile * 100
    return slo.objective * 100


def fairness_error_ratio(sli: FairnessSli, rng: str) -> str:
    ratio = success_ratio(sli, rng)
    return f"max(\n{ratio}\n)\n- on () group_right ()\n(\n{ratio}\n)"


def sloth_sli(sli: Sli) -> dict[str, Any]:
    if isinstance(sli, FairnessSli):
        return {"raw": {"error_ratio_query": fairness_error_ratio(sli, WINDOW)}}
    if sli.min_sample > 0:
        return {"raw": {"error_ratio_query": error_ratio(sli, WINDOW)}}
    good, total = good_and_total(sli)
    labels = sli.segment_by
    total_rate = rate_sum(total, WINDOW, labels)
    return {
        "events": {
            "error_query": f"{total_rate}\n-\n{rate_sum(good, WINDOW, labels)}",
            "total_query": total_rate,
        }
    }


def sloth_slo(service: Service, slo: Slo) -> dict[str, Any]:
    sli = sli_of(service.name, slo)
    return {
        "name": slo.name,
        "objective": float(number(objective_percent(sli, slo))),
        "description": f"{slo.metric} {slo.comparison} {slo.objective:g} {slo.unit}".strip(),
        "labels": {"dimension": slo.dimension},
        "sli": sloth_sli(sli),
        "alerting": {
            "name": f"SLO{''.join(p.title() for p in slo.name.split('-'))}",
            "labels": {"dimension": slo.dimension},
            "annotations": {
                "summary": f"{service.name} {slo.name}: {slo.metric} is burning its budget",
                "runbook_url": runbook(service.name, slo),
            },
            "page_alert": {"labels": {"tier": "page", "severity": "critical"}},
            "ticket_alert": {"labels": {"tier": "ticket", "severity": "warning"}},
        },
    }


def sloth_specs(
    chosen: list[tuple[Service, tuple[Slo, ...]]], windows: Windows
) -> tuple[str, list[str], int]:
    """(YAML, notes, SLO count). Sloth picks its own windows: ``windows`` scaling does not apply."""
    del windows
    docs: list[str] = []
    notes: list[str] = []
    count = 0
    for service, slos in chosen:
        for period in dict.fromkeys(s.window for s in slos):
            specs = [sloth_slo(service, s) for s in slos if s.window == period]
            count += len(specs)
            doc = {
                "version": "prometheus/v1",
                "service": service.name,
                "labels": {"owner": service.owner.team},
                "slos": specs,
            }
            flags = f"sloth generate --default-slo-period={period}"
            if period not in ("28d", "30d"):
                flags += " --slo-period-windows-path=<windows for this period>"
            docs.append(f"# {service.name}, SLO period {period}: {flags}\n" + dump(doc))
        notes.extend(
            FAIRNESS_NOTE.format(slo=f"{service.name}/{s.name}", objective=f"{100 - s.objective:g}")
            for s in slos
            if isinstance(s.sli, FairnessSli)
        )
    return "---\n".join(docs), notes, count
