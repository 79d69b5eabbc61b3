"""HTTP ingest of breach signals: Alertmanager, Grafana and generic webhooks, authenticated and
bounded, each alert becoming one :class:`~orchestrator.domain.signals.BreachSignal`."""

from orchestrator.config.ingest import IngestSettings, SourceAuth
from orchestrator.domain.label_mapping import LabelMapping
from orchestrator.ingest.app import create_app
from orchestrator.ingest.metrics import IngestMetrics

__all__ = [
    "IngestMetrics",
    "IngestSettings",
    "LabelMapping",
    "SourceAuth",
    "create_app",
]
