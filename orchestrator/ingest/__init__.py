"""HTTP ingest of breach signals: Alertmanager, Grafana and generic webhooks, authenticated and
bounded, each alert becoming one :class:`~orchestrator.domain.signals.BreachSignal`."""

from orchestrator.ingest.app import create_app
from orchestrator.ingest.mapping import LabelMapping
from orchestrator.ingest.metrics import IngestMetrics, Registry
from orchestrator.ingest.settings import IngestSettings, SourceAuth, from_env

__all__ = [
    "IngestMetrics",
    "IngestSettings",
    "LabelMapping",
    "Registry",
    "SourceAuth",
    "create_app",
    "from_env",
]
