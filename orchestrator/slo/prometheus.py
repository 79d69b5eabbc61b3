"""Catalog SLIs -> Prometheus recording rules and multi-window, multi-burn-rate alerts.

One rule group per SLO, recording rules first (a group evaluates in order, so its alerts read
this round's values). Recorded series carry ``service`` and ``slo`` plus the segment labels:

``slo:sli:ratio_rate<w>``
    ratio and latency SLIs: good over total (latency: the share within the ``le`` bucket).
``slo:sli_quantile:value_rate<w>``
    latency SLIs, long windows only: the percentile in the SLO's unit (the alert's value).
``slo:segment_success:ratio_rate<w>`` and ``slo:segment_gap:points_rate<w>``
    fairness SLIs: each segment's success ratio, and how many points it is behind the best-served
    segment; segments under ``min_sample`` events in the window are in neither.

An alert's value is the SLI over its long window in the SLO's unit (success ratio, milliseconds,
points), so ``observed`` can be compared with ``objective`` as the orchestrator's severity does.
"""

from __future__ import annotations

from typing import Any

from orchestrator.domain.catalog import Service, Slo
from orchestrator.domain.sli import FairnessSli, LatencySli, Sli
from orchestrator.slo.promql import budget, number, quantile, sli_of, success_ratio
from orchestrator.slo.windows import LONG_WINDOWS, TIERS, WINDOWS, Tier, Windows

RATIO = "slo:sli:ratio_rate{}"
QUANTILE = "slo:sli_quantile:value_rate{}"
SEGMENT_RATIO = "slo:segment_success:ratio_rate{}"
GAP = "slo:segment_gap:points_rate{}"
BURN_ALERT = "SLOErrorBudgetBurn"
GAP_ALERT = "SLOFairnessGap"
RUNBOOK_BASE = "https://runbooks.example.com"
"""Where a runbook is assumed to live when the catalog names none (``<base>/<service>/<slo>``)."""


def runbook(service: str, slo: Slo) -> str:
    return slo.runbook_url or f"{RUNBOOK_BASE}/{service}/{slo.name}"


def _recording(name: str, expr: str, service: str, slo: str) -> dict[str, Any]:
    return {"record": name, "expr": expr, "labels": {"service": service, "slo": slo}}


def recording_rules(service: str, slo: Slo, windows: Windows) -> list[dict[str, Any]]:
    sli = sli_of(service, slo)
    rules = []
    for w in WINDOWS:
        rng = windows.range(w)
        if isinstance(sli, FairnessSli):
            rules.append(
                _recording(SEGMENT_RATIO.format(w), success_ratio(sli, rng), service, slo.name)
            )
            rules.append(_recording(GAP.format(w), _gap(service, slo.name, w), service, slo.name))
            continue
        rules.append(_recording(RATIO.format(w), success_ratio(sli, rng), service, slo.name))
        if isinstance(sli, LatencySli) and w in LONG_WINDOWS:
            rules.append(_recording(QUANTILE.format(w), quantile(sli, rng), service, slo.name))
    return rules


def _sel(service: str, slo: str) -> str:
    return f'{{service="{service}",slo="{slo}"}}'


def _gap(service: str, slo: str, window: str) -> str:
    ratio = SEGMENT_RATIO.format(window) + _sel(service, slo)
    best = f"max by (service, slo) ({ratio})"
    return f"100 * (\n{best}\n- on (service, slo) group_right ()\n{ratio}\n)"


def threshold(sli: Sli, slo: Slo, tier: Tier) -> float | None:
    """The SLI value that means ``tier.factor`` x burn; None when no value can reach it."""
    if isinstance(sli, FairnessSli):
        points = tier.factor * slo.objective
        return points if points < 100 else None
    floor = 1 - tier.factor * budget(sli, slo.objective)
    return floor if floor > 0 else None


def alert_expr(sli: Sli, service: str, slo: Slo, tier: Tier, limit: float) -> str:
    sel, t = _sel(service, slo.name), number(limit)
    if isinstance(sli, FairnessSli):
        long, short = GAP.format(tier.long), GAP.format(tier.short)
        return f"{long}{sel} > {t}\nand\n{short}{sel} > {t}"
    long, short = RATIO.format(tier.long), RATIO.format(tier.short)
    burning = f"{long}{sel} < {t}\nand\n{short}{sel} < {t}"
    if isinstance(sli, LatencySli):
        return f"{QUANTILE.format(tier.long)}{sel}\nand\n{burning}"
    return burning


def _segment_text(sli: Sli) -> str:
    return " ".join(f"{label}={{{{ $labels.{label} }}}}" for label in sli.segment_by)


def summary(service: Service, slo: Slo, sli: Sli, tier: Tier) -> str:
    where = f" for {_segment_text(sli)}" if sli.segment_by else ""
    burn = f"at least {tier.factor:g}x the sustainable rate over {tier.long} and {tier.short}"
    head = f"{service.name} {slo.name}"
    if isinstance(sli, FairnessSli):
        return (
            f'{head}: {_segment_text(sli)} is {{{{ printf "%.1f" $value }}}} points behind the'
            f" best-served {sli.segment_by[0]} over {tier.long} (objective <= {slo.objective:g}"
            f" points); above {tier.factor * slo.objective:g} points over {tier.long} and"
            f" {tier.short}"
        )
    if isinstance(sli, LatencySli):
        return (
            f'{head}: {slo.metric} {{{{ printf "%.0f" $value }}}} {slo.unit}{where} over'
            f" {tier.long} (objective <= {slo.objective:g} {slo.unit}); budget burning {burn}"
        )
    return (
        f"{head}: {slo.metric} {{{{ $value | humanizePercentage }}}}{where} over {tier.long}"
        f" (objective >= {slo.objective:.4g}); budget burning {burn}"
    )


def alert_rule(service: Service, slo: Slo, tier: Tier, limit: float) -> dict[str, Any]:
    sli = sli_of(service.name, slo)
    annotations = {
        "observed": "{{ $value }}",
        "objective": f"{slo.objective:g}",
        "summary": summary(service, slo, sli, tier),
        "runbook_url": runbook(service.name, slo),
    }
    if sli.segment_by:
        first = sli.segment_by[0]
        annotations["segment"] = f"{first}={{{{ $labels.{first} }}}}"
    return {
        "alert": GAP_ALERT if isinstance(sli, FairnessSli) else BURN_ALERT,
        "expr": alert_expr(sli, service.name, slo, tier, limit),
        "labels": {
            "service": service.name,
            "slo": slo.name,
            "dimension": slo.dimension,
            "tier": tier.tier,
            "severity": tier.severity,
            "burn_rate": f"{tier.factor:g}",
            "window": tier.long,
        },
        "annotations": annotations,
    }


def slo_group(service: Service, slo: Slo, windows: Windows) -> tuple[dict[str, Any], list[str]]:
    """The rule group of one SLO, and a note for each tier no SLI value can reach."""
    sli = sli_of(service.name, slo)
    rules, notes = recording_rules(service.name, slo, windows), []
    for tier in TIERS:
        limit = threshold(sli, slo, tier)
        if limit is None:
            notes.append(
                f"{service.name}/{slo.name}: no {tier.factor:g}x {tier.tier} alert: with"
                f" objective {slo.objective:g} no SLI value burns that fast"
            )
            continue
        rules.append(alert_rule(service, slo, tier, limit))
    return {"name": f"slo-{service.name}-{slo.name}", "rules": rules}, notes
