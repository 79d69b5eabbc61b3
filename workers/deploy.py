"""Where pins, scales, freezes and component versions go, as settings choose (part of the
composition root): the deployment provider (``ORCHESTRATOR_DEPLOY``: the state folder's files,
or a CI/CD system's HTTP API) with its release freezes, and, when
``ORCHESTRATOR_MODEL_REGISTRY=mlflow``, an MLflow Model Registry holding the versions of the
components ``ORCHESTRATOR_MLFLOW_MODELS`` names, over the worker's one shared HTTP client
(docs/integrations.md)."""

from __future__ import annotations

import httpx

from orchestrator.config.settings import Settings
from orchestrator.domain.catalog import Catalog
from orchestrator.errors import ConfigError
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.deploy_routes import VersionRoutes
from orchestrator.providers.deploy_webhook import DeployWebhook
from orchestrator.providers.local_ops import LocalOps
from orchestrator.providers.mlflow_registry import MlflowRegistry
from orchestrator.providers.releases import ReleaseFreezes
from orchestrator.providers.webhook_freezes import WebhookReleaseFreezes


def deploy_providers(
    settings: Settings, http: httpx.AsyncClient, local: LocalOps
) -> tuple[DeploymentProvider, ReleaseFreezes]:
    """(deployments, freezes). A webhook without freeze operations keeps freezes local."""
    hook = settings.deploy.webhook
    if settings.deploy.backend != "webhook" or hook is None:
        return local.deploy, local.freezes
    webhook = DeployWebhook(http, hook.spec, hook.secrets, rate_limit_cap=settings.rate_limit_cap)
    if not webhook.has("freeze"):
        return webhook, local.freezes
    return webhook, WebhookReleaseFreezes(webhook, local.freezes)


def check_model_registry(settings: Settings, catalog: Catalog) -> None:
    """A ConfigError naming each mapped component the catalog has no versions of."""
    chosen = settings.mlflow
    if chosen is None:
        return
    known = {f"{s.name}/{c}" for s in catalog.services for c in s.versions}
    bare = {key.split("/", 1)[1] for key in known}
    unknown = [m.component for m in chosen.models if m.component not in known | bare]
    if unknown:
        raise ConfigError(
            f"ORCHESTRATOR_MLFLOW_MODELS names {', '.join(unknown)}, which the catalog has no"
            f" versions of (it has: {', '.join(sorted(known))})"
        )


def with_model_registry(
    settings: Settings, http: httpx.AsyncClient, deploy: DeploymentProvider
) -> DeploymentProvider:
    """``deploy``, with the versions of the mapped components in MLflow when it is chosen."""
    chosen = settings.mlflow
    if chosen is None:
        return deploy
    registry = MlflowRegistry(http, chosen, rate_limit_cap=settings.rate_limit_cap)
    return VersionRoutes(deploy, registry)
