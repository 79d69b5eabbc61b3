"""The deployment provider and release freezes the settings choose (``ORCHESTRATOR_DEPLOY``):
the state folder's files (``local``), or a CI/CD system's HTTP API (``webhook``), over the
worker's one shared HTTP client. docs/integrations.md."""

from __future__ import annotations

import httpx

from orchestrator.config.settings import Settings
from orchestrator.providers.deploy import DeploymentProvider
from orchestrator.providers.deploy_webhook import DeployWebhook
from orchestrator.providers.local_ops import LocalOps
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
