"""The SaaS the orchestrator talks to, as local servers that follow each vendor's documented API
(tests/providers): start them on free ports, and the ``ORCHESTRATOR_*`` variables that point the
orchestrator at them. ``python -m tests.local_saas`` (``make demo-saas``) runs the worked example
against them; see docs/integrations.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config.files import load_catalog
from tests.providers.fake_github import FakeGitHub
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.providers.fake_pagerduty import FakePagerDuty
from tests.providers.fake_slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
LD_API_TOKEN = "api-local-saas-7d1e0c5a-2b3f-4c6d-9e8f-0a1b2c3d4e5f"
LD_SDK_KEY = "sdk-local-saas-1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
LD_PROJECT, LD_ENV = "support", "production"
GITHUB_TOKEN = "github_pat_local_saas_11AAAAAAA0123456789abcdefghij"
GITHUB_REPO = "cx-ai-platform/incident-reviews"
PAGERDUTY_ROUTING_KEY = "R0UTINGKEYL0CALSAAS0123456789AB"
SLACK_BOT_TOKEN = "xoxb-0000000000-1111111111-localsaasTOKEN0123456789"
SLACK_CHANNEL = "C0LOCALSAAS"


@dataclass
class LocalSaas:
    """The running local servers and the environment that selects them (configuration only)."""

    launchdarkly: FakeLaunchDarkly
    github: FakeGitHub
    pagerduty: FakePagerDuty
    slack: FakeSlack
    env: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def local_saas(catalog_path: Path = ROOT / "catalog" / "catalog.yaml") -> Iterator[LocalSaas]:
    """Start every local server, seeded from the catalog; stop them all when the block ends."""
    ld = FakeLaunchDarkly(
        api_token=LD_API_TOKEN, project_key=LD_PROJECT, sdk_keys={LD_ENV: LD_SDK_KEY}
    )
    for service in load_catalog(catalog_path).services:
        for spec in service.flags:
            ld.seed(spec)
    github = FakeGitHub(token=GITHUB_TOKEN, repo=GITHUB_REPO)
    pagerduty = FakePagerDuty({PAGERDUTY_ROUTING_KEY})
    slack = FakeSlack(bot_token=SLACK_BOT_TOKEN, channels={SLACK_CHANNEL})
    with ld.running(), github.running(), pagerduty.running(), slack.running():
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
        }
        yield LocalSaas(launchdarkly=ld, github=github, pagerduty=pagerduty, slack=slack, env=env)
