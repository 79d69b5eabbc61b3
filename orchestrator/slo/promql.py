"""PromQL for an SLI over one range: what every output format (Prometheus, Sloth, OpenSLO) shares.

``rng`` is a range such as ``5m``, or a template placeholder such as Sloth's ``{{.window}}``.
"""

from __future__ import annotations

from orchestrator.domain.catalog import Slo
from orchestrator.domain.sli import FairnessSli, LatencySli, RatioSli, Sli, matchers, metric_name
from orchestrator.errors import CatalogError


def number(value: float) -> str:
    """A threshold as PromQL and YAML show it: ``0.52``, not ``0.5199999999999999``."""
    return format(round(value, 9), ".9g")


def sli_of(service: str, slo: Slo) -> Sli:
    if slo.sli is None:
        raise CatalogError(f"SLO {service}/{slo.name} has no sli: nothing to generate", "catalog")
    return slo.sli


def with_matcher(selector: str, extra: str) -> str:
    """``name{a="b"}`` plus ``le="0.8"`` -> ``name{a="b",le="0.8"}``."""
    inner = ",".join(m for m in (matchers(selector), extra) if m)
    return f"{metric_name(selector)}{{{inner}}}" if inner else metric_name(selector)


def _by(labels: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(labels)}) " if labels else "sum "


def rate_sum(selector: str, rng: str, labels: tuple[str, ...]) -> str:
    return f"{_by(labels)}(rate({selector}[{rng}]))"


def increase_sum(selector: str, rng: str, labels: tuple[str, ...]) -> str:
    return f"{_by(labels)}(increase({selector}[{rng}]))"


def series(histogram: str, suffix: str) -> str:
    """``h{a="b"}`` and ``_bucket`` -> ``h_bucket{a="b"}``."""
    return with_matcher(metric_name(histogram) + suffix, matchers(histogram))


def good_and_total(sli: Sli) -> tuple[str, str]:
    """The good-event and all-event counter selectors (a latency SLI's bucket and count)."""
    if isinstance(sli, LatencySli):
        bucket = series(sli.histogram, "_bucket")
        return with_matcher(bucket, f'le="{sli.threshold_le}"'), series(sli.histogram, "_count")
    return sli.good, sli.total


def success_ratio(sli: Sli, rng: str) -> str:
    """Good over total per segment, only where the segment has ``min_sample`` events in ``rng``."""
    good, total = good_and_total(sli)
    labels = sli.segment_by
    ratio = f"{rate_sum(good, rng, labels)}\n/\n{rate_sum(total, rng, labels)}"
    if sli.min_sample <= 0:
        return ratio
    gate = f"{increase_sum(total, rng, labels)} >= {sli.min_sample}"
    return f"(\n{ratio}\n)\nand\n{gate}"


def error_ratio(sli: Sli, rng: str) -> str:
    """Bad over total (what Sloth and OpenSLO budget on)."""
    return f"1 - (\n{success_ratio(sli, rng)}\n)"


def quantile(sli: LatencySli, rng: str) -> str:
    """The percentile over ``rng``, in the SLO's unit (the reported observation)."""
    bucket = series(sli.histogram, "_bucket")
    labels = (*sli.segment_by, "le")
    inner = f"histogram_quantile({sli.percentile:g}, {rate_sum(bucket, rng, labels)})"
    return inner if sli.unit_scale == 1 else f"{inner} * {number(sli.unit_scale)}"


def budget(sli: RatioSli | LatencySli, objective: float) -> float:
    """The share of events allowed to be bad."""
    return 1 - (sli.percentile if isinstance(sli, LatencySli) else objective)


def is_fairness(sli: Sli) -> bool:
    return isinstance(sli, FairnessSli)
