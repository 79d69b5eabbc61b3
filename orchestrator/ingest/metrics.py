"""Prometheus metrics through ``prometheus_client`` (the well-kept library), one registry a process.

:class:`IngestMetrics` declares the ingest service's series on a registry that others share
(:mod:`orchestrator.ingest.audit_metrics` adds incidents and steps from the audit history), so one
``GET /metrics`` shows everything. Series names are the ones the hand-written exposition had;
``_created`` samples are off, so counters read as they always did.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

disable_created_metrics()  # type: ignore[no-untyped-call]


def render(registry: CollectorRegistry) -> str:
    """The registry in the text exposition format."""
    return generate_latest(registry).decode("utf-8")


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    """One sample's value (0 when it has not been recorded), as tests and the CLI read it."""
    return registry.get_sample_value(name, labels) or 0.0


class IngestMetrics:
    """The ingest service's own series, on a registry others may share."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "orchestrator_ingest_deliveries_total",
            "HTTP deliveries of breach signals, by source and outcome.",
            ("source", "outcome"),
            registry=r,
        )
        self.signals = Counter(
            "orchestrator_ingest_signals_total",
            "Breach signals received, by source and outcome (accepted, rejected, unavailable).",
            ("source", "outcome"),
            registry=r,
        )
        self.incidents = Counter(
            "orchestrator_ingest_incidents_total",
            "Accepted signals by what they did to an incident (started, joined, no-open-incident).",
            ("status",),
            registry=r,
        )
        self.truncated = Counter(
            "orchestrator_ingest_truncated_alerts_total",
            "Alerts the sender left out of its payloads (truncatedAlerts), by source.",
            ("source",),
            registry=r,
        )
        self.latency = Histogram(
            "orchestrator_ingest_request_duration_seconds",
            "Time from request to response for signal deliveries, by source.",
            ("source",),
            registry=r,
            buckets=LATENCY_BUCKETS,
        )
        self.submit_latency = Histogram(
            "orchestrator_ingest_submit_duration_seconds",
            "Time for the submitter to durably accept one signal.",
            registry=r,
            buckets=LATENCY_BUCKETS,
        )

    def value(self, name: str, **labels: str) -> float:
        return sample(self.registry, name, **labels)

    def render(self) -> str:
        return render(self.registry)
