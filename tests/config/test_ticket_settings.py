"""ORCHESTRATOR_TICKETS chooses where RCA tickets go, by configuration alone (issue 13)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestrator.config.settings import Settings
from orchestrator.errors import ConfigError
from orchestrator.providers.github_tickets import GitHubTickets
from orchestrator.providers.jira_tickets import JiraTickets
from orchestrator.providers.tickets import LocalTickets
from workers.tickets import ticket_provider

GITHUB = {"ORCHESTRATOR_TICKETS": "github", "ORCHESTRATOR_GITHUB_REPO": "acme/cx-incidents"}
JIRA = {
    "ORCHESTRATOR_TICKETS": "jira",
    "ORCHESTRATOR_JIRA_URL": "https://acme.atlassian.net",
    "ORCHESTRATOR_JIRA_EMAIL": "rca-bot@acme.example",
    "ORCHESTRATOR_JIRA_PROJECT": "CXOPS",
}


async def chosen(settings: Settings, tmp_path: Path) -> object:
    async with httpx.AsyncClient() as http:
        return ticket_provider(settings, http, LocalTickets(tmp_path / "reviews.json"))


async def test_local_by_default_and_each_system_by_configuration(tmp_path: Path) -> None:
    assert isinstance(await chosen(Settings.from_env({}), tmp_path), LocalTickets)
    token_file = tmp_path / "gh.token"
    token_file.write_text("github_pat_rotated_secret_0001\n")
    gh = Settings.from_env({**GITHUB, "ORCHESTRATOR_GITHUB_TOKEN_FILE": str(token_file)})
    assert gh.tickets.github is not None
    assert gh.tickets.github.token.reveal() == "github_pat_rotated_secret_0001"
    github = await chosen(gh, tmp_path)
    assert isinstance(github, GitHubTickets) and github.repo == "acme/cx-incidents"
    jira = await chosen(Settings.from_env({**JIRA, "ORCHESTRATOR_JIRA_TOKEN": "t0k3n"}), tmp_path)
    assert isinstance(jira, JiraTickets) and jira.project == "CXOPS"
    assert "t0k3n" not in repr(jira) and "t0k3n" not in repr(gh)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (GITHUB, "ORCHESTRATOR_GITHUB_TOKEN"),
        ({"ORCHESTRATOR_TICKETS": "github", "ORCHESTRATOR_GITHUB_TOKEN": "s3cret"},
         "ORCHESTRATOR_GITHUB_REPO"),
        ({**JIRA, "ORCHESTRATOR_JIRA_PROJECT": "", "ORCHESTRATOR_JIRA_TOKEN": "s3cret"},
         "ORCHESTRATOR_JIRA_PROJECT"),
        (JIRA, "ORCHESTRATOR_JIRA_TOKEN"),
        ({"ORCHESTRATOR_TICKETS": "servicenow"}, "ORCHESTRATOR_TICKETS must be one of"),
        ({**GITHUB, "ORCHESTRATOR_GITHUB_REPO": "name", "ORCHESTRATOR_GITHUB_TOKEN": "s3cret"},
         "owner/name"),
    ],
)  # fmt: skip
def test_a_chosen_system_names_what_is_missing_and_never_a_token(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named) as caught:
        Settings.from_env(env)
    assert "s3cret" not in str(caught.value)
