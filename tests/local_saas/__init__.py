"""The SaaS the orchestrator talks to, as local servers that follow each vendor's documented API
(tests/providers): start them on free ports, and the ``ORCHESTRATOR_*`` variables that point the
orchestrator at them (and a real MLflow tracking server: tests/providers/mlflow_server.py).
``python -m tests.local_saas`` (``make demo-saas``) runs the worked example
against them; see docs/integrations.md.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config.files import load_catalog
from orchestrator.domain.catalog import Catalog
from tests.providers.fake_github import FakeGitHub
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.providers.fake_pagerduty import FakePagerDuty
from tests.providers.fake_slack import FakeSlack
from tests.providers.mlflow_server import MlflowServer, running_mlflow

ROOT = Path(__file__).resolve().parents[2]
LD_API_TOKEN = "api-local-saas-7d1e0c5a-2b3f-4c6d-9e8f-0a1b2c3d4e5f"
LD_SDK_KEY = "sdk-local-saas-1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
LD_PROJECT, LD_ENV = "support", "production"
GITHUB_TOKEN = "github_pat_local_saas_11AAAAAAA0123456789abcdefghij"
GITHUB_REPO = "cx-ai-platform/incident-reviews"
PAGERDUTY_ROUTING_KEY = "R0UTINGKEYL0CALSAAS0123456789AB"
SLACK_BOT_TOKEN = "xoxb-0000000000-1111111111-localsaasTOKEN0123456789"
SLACK_CHANNEL = "C0LOCALSAAS"
MLFLOW_USER = "orchestrator"
MLFLOW_PASSWORD = "mlflow-local-saas-0f1e2d3c4b5a69788796a5b4c3d2e1f0"
MLFLOW_COMPONENTS = ("prompt", "model")
"""The components whose versions MLflow holds in the story (the others stay in the state
folder): a registered model ``<service>-<component>`` each, its versions tagged with the
catalog's names, ``champion`` on the current one."""


@dataclass
class LocalSaas:
    """The running local servers and the environment that selects them (configuration only)."""

    launchdarkly: FakeLaunchDarkly
    github: FakeGitHub
    pagerduty: FakePagerDuty
    slack: FakeSlack
    mlflow: MlflowServer
    models: dict[str, str] = field(default_factory=dict)
    """registered model -> the catalog version its ``champion`` alias pointed at first."""
    env: dict[str, str] = field(default_factory=dict)

    def serving(self, model: str) -> str:
        """The catalog version ``champion`` points at now (its orchestrator.version tag)."""
        number = self.mlflow.alias(model)
        got = self.mlflow.call(
            "GET", "/api/2.0/mlflow/model-versions/get", params={"name": model, "version": number}
        )
        tags = {t["key"]: t["value"] for t in got["model_version"].get("tags", [])}
        return tags.get("orchestrator.version", number)


def register_models(server: MlflowServer, catalog: Catalog) -> dict[str, str]:
    """Each service's MLFLOW_COMPONENTS as registered models (known-good as version 1, current
    as version 2, champion on 2) that MLFLOW_USER may edit; model -> ``service/component``."""
    models: dict[str, str] = {}
    for service in catalog.services:
        for component in MLFLOW_COMPONENTS:
            version = service.versions.get(component)
            if version is None:
                continue
            name = f"{service.name}-{component}"
            server.register(name, [version.known_good, version.current], serving=2)
            models[name] = f"{service.name}/{component}"
    server.user(MLFLOW_USER, MLFLOW_PASSWORD, edit=tuple(models))
    return models


@contextlib.contextmanager
def local_saas(catalog_path: Path = ROOT / "catalog" / "catalog.yaml") -> Iterator[LocalSaas]:
    """Start every local server, seeded from the catalog; stop them all when the block ends."""
    catalog = load_catalog(catalog_path)
    ld = FakeLaunchDarkly(
        api_token=LD_API_TOKEN, project_key=LD_PROJECT, sdk_keys={LD_ENV: LD_SDK_KEY}
    )
    for service in catalog.services:
        for spec in service.flags:
            ld.seed(spec)
    github = FakeGitHub(token=GITHUB_TOKEN, repo=GITHUB_REPO)
    pagerduty = FakePagerDuty({PAGERDUTY_ROUTING_KEY})
    slack = FakeSlack(bot_token=SLACK_BOT_TOKEN, channels={SLACK_CHANNEL})
    with (
        ld.running(),
        github.running(),
        pagerduty.running(),
        slack.running(),
        tempfile.TemporaryDirectory(prefix="local-mlflow-") as folder,
        running_mlflow(Path(folder)) as mlflow,
    ):
        models = register_models(mlflow, catalog)
        env = {
            "ORCHESTRATOR_FLAG_BACKEND": "launchdarkly",
            "LAUNCHDARKLY_API_TOKEN": LD_API_TOKEN,
            "LAUNCHDARKLY_SDK_KEY": LD_SDK_KEY,
            "LAUNCHDARKLY_PROJECT_KEY": LD_PROJECT,
            "LAUNCHDARKLY_ENVIRONMENT_KEY": LD_ENV,
            "LAUNCHDARKLY_BASE_URL": ld.url,
            "LAUNCHDARKLY_SDK_BASE_URI": ld.url,
            "LAUNCHDARKLY_SDK_STREAM_URI": ld.url,
            "LAUNCHDARKLY_SDK_EVENTS_URI": ld.url,
            "ORCHESTRATOR_TICKETS": "github",
            "ORCHESTRATOR_GITHUB_TOKEN": GITHUB_TOKEN,
            "ORCHESTRATOR_GITHUB_REPO": GITHUB_REPO,
            "ORCHESTRATOR_GITHUB_API_URL": github.url,
            "ORCHESTRATOR_PAGER": "pagerduty",
            "ORCHESTRATOR_PAGERDUTY_ROUTING_KEY": PAGERDUTY_ROUTING_KEY,
            "ORCHESTRATOR_PAGERDUTY_EVENTS_URL": pagerduty.events_url,
            "ORCHESTRATOR_CHAT": "slack",
            "ORCHESTRATOR_SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
            "ORCHESTRATOR_SLACK_CHANNEL": SLACK_CHANNEL,
            "ORCHESTRATOR_SLACK_API_URL": slack.api_url,
            "ORCHESTRATOR_MODEL_REGISTRY": "mlflow",
            "ORCHESTRATOR_MLFLOW_TRACKING_URI": mlflow.url,
            "ORCHESTRATOR_MLFLOW_MODELS": ",".join(f"{c}={m}" for m, c in models.items()),
            "ORCHESTRATOR_MLFLOW_USERNAME": MLFLOW_USER,
            "ORCHESTRATOR_MLFLOW_PASSWORD": MLFLOW_PASSWORD,
        }
        saas = LocalSaas(ld, github, pagerduty, slack, mlflow, env=env)
        saas.models = {m: saas.serving(m) for m in models}
        yield saas
