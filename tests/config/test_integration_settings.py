"""Paging and chat are chosen by configuration alone: ORCHESTRATOR_PAGER and ORCHESTRATOR_CHAT,
with their credentials as secrets (inline or from a file), refused with one line naming what is
missing, and never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config.integrations import PAGERDUTY_EVENTS_URL, SLACK_API_URL
from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError

ROUTING_KEY = "R0ut1ngK3yS3cr3tPD0123456789abcd"
WEBHOOK = "https://hooks.slack.com/services/T0AAAA/B0BBBB/S3cr3tW3bh00kPath"
BOT_TOKEN = "xoxb-1-2-S3cr3tB0t"


def test_the_defaults_are_the_local_pager_and_no_chat() -> None:
    settings = Settings.from_env({})
    assert settings.pagerduty is None and settings.slack is None and settings.link_base_url == ""


def test_pagerduty_from_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "pd.key"
    key_file.write_text(f"{ROUTING_KEY}\nnext-key-for-rotation\n")
    env = {
        "ORCHESTRATOR_PAGER": "pagerduty",
        "ORCHESTRATOR_PAGERDUTY_ROUTING_KEY_FILE": str(key_file),
        "ORCHESTRATOR_LINK_BASE_URL": "https://orchestrator.example/",
    }
    settings = Settings.from_env(env)
    assert settings.pagerduty is not None
    assert settings.pagerduty.routing_key.reveal() == ROUTING_KEY
    assert settings.pagerduty.events_url == PAGERDUTY_EVENTS_URL
    assert settings.link_base_url == "https://orchestrator.example"
    assert ROUTING_KEY not in repr(settings)


def test_pagerduty_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="ORCHESTRATOR_PAGERDUTY_ROUTING_KEY"):
        Settings.from_env({"ORCHESTRATOR_PAGER": "pagerduty"})
    with pytest.raises(ConfigError, match="ORCHESTRATOR_PAGER must be one of local, pagerduty"):
        Settings.from_env({"ORCHESTRATOR_PAGER": "opsgenie"})


def test_slack_by_webhook_or_by_bot_token() -> None:
    hook = Settings.from_env(
        {"ORCHESTRATOR_CHAT": "slack", "ORCHESTRATOR_SLACK_WEBHOOK_URL": WEBHOOK}
    )
    assert hook.slack is not None and hook.slack.webhook_url is not None
    assert hook.slack.bot_token is None and WEBHOOK not in repr(hook)
    bot = Settings.from_env(
        {
            "ORCHESTRATOR_CHAT": "slack",
            "ORCHESTRATOR_SLACK_BOT_TOKEN": BOT_TOKEN,
            "ORCHESTRATOR_SLACK_CHANNEL": "C0INCIDENTS",
        }
    )
    assert bot.slack is not None and bot.slack.channel == "C0INCIDENTS"
    assert bot.slack.api_url == SLACK_API_URL and BOT_TOKEN not in repr(bot)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({}, "exactly one of ORCHESTRATOR_SLACK_WEBHOOK_URL and ORCHESTRATOR_SLACK_BOT_TOKEN"),
        (
            {"ORCHESTRATOR_SLACK_WEBHOOK_URL": WEBHOOK, "ORCHESTRATOR_SLACK_BOT_TOKEN": BOT_TOKEN},
            "exactly one of",
        ),
        ({"ORCHESTRATOR_SLACK_BOT_TOKEN": BOT_TOKEN}, "needs ORCHESTRATOR_SLACK_CHANNEL"),
        ({"ORCHESTRATOR_SLACK_WEBHOOK_URL": "hooks.slack.com/S3cr3t"}, "must be an http"),
    ],
)
def test_slack_refusals_name_the_variable_and_show_no_secret(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        Settings.from_env({"ORCHESTRATOR_CHAT": "slack", **env})
    assert "S3cr3t" not in str(caught.value)


def test_credentials_are_ignored_unless_their_integration_is_chosen() -> None:
    settings = Settings.from_env(
        {"ORCHESTRATOR_PAGERDUTY_ROUTING_KEY": ROUTING_KEY, "ORCHESTRATOR_SLACK_BOT_TOKEN": "x"}
    )
    assert settings.pagerduty is None and settings.slack is None


HMAC_KEY = "wh-S3cr3tHmacKeyForTheOutgoingWebhook"


def test_the_outgoing_webhook_from_a_secret_file(tmp_path: Path) -> None:
    key_file = tmp_path / "webhook.key"
    key_file.write_text(f"{HMAC_KEY}\n")
    env = {
        "ORCHESTRATOR_WEBHOOK_URL": "https://status.example/hooks/incidents",
        "ORCHESTRATOR_WEBHOOK_SECRET_FILE": str(key_file),
    }
    settings = Settings.from_env(env)
    assert settings.webhook is not None and settings.webhook.secret.reveal() == HMAC_KEY
    assert settings.webhook.url == "https://status.example/hooks/incidents"
    assert HMAC_KEY not in repr(settings)
    assert Settings.from_env({}).webhook is None


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"ORCHESTRATOR_WEBHOOK_URL": "https://x.example/h"}, "needs ORCHESTRATOR_WEBHOOK_SECRET"),
        ({"ORCHESTRATOR_WEBHOOK_SECRET": HMAC_KEY}, "without ORCHESTRATOR_WEBHOOK_URL"),
        (
            {"ORCHESTRATOR_WEBHOOK_URL": "ftp://x", "ORCHESTRATOR_WEBHOOK_SECRET": HMAC_KEY},
            "ORCHESTRATOR_WEBHOOK_URL must be an http(s) URL",
        ),
    ],
)
def test_an_incomplete_outgoing_webhook_is_refused_in_one_line(
    env: dict[str, str], words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert HMAC_KEY not in str(caught.value)
