"""Where RCA tickets go: the local ticket file (default), GitHub Issues or Jira Cloud.

``ORCHESTRATOR_TICKETS`` chooses; each system's variables are read only when it is chosen, and a
missing one is a one-line ConfigError naming it (never a value: the tokens are secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from orchestrator.config.env import Env
from orchestrator.errors import ConfigError
from orchestrator.secrets import Secret

TICKET_BACKENDS = ("local", "github", "jira")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class GitHubTicketSettings:
    token: Secret
    repo: str
    """``owner/name``."""
    api_url: str = "https://api.github.com"


@dataclass(frozen=True)
class JiraTicketSettings:
    url: str
    email: str
    token: Secret
    project: str
    issue_type: str = "Task"


@dataclass(frozen=True)
class TicketSettings:
    backend: Literal["local", "github", "jira"] = "local"
    github: GitHubTicketSettings | None = None
    jira: JiraTicketSettings | None = None


def tickets_from_env(env: Env) -> TicketSettings:
    backend = env.choice("ORCHESTRATOR_TICKETS", TICKET_BACKENDS, "local")
    if backend == "github":
        return TicketSettings("github", github=_github(env))
    if backend == "jira":
        return TicketSettings("jira", jira=_jira(env))
    return TicketSettings()


def _require(backend: str, values: Mapping[str, object]) -> None:
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigError(f"ORCHESTRATOR_TICKETS={backend} needs {', '.join(missing)}")


def _github(env: Env) -> GitHubTicketSettings:
    token = env.secret("ORCHESTRATOR_GITHUB_TOKEN")
    repo = env.text("ORCHESTRATOR_GITHUB_REPO", "")
    _require("github", {"ORCHESTRATOR_GITHUB_TOKEN": token, "ORCHESTRATOR_GITHUB_REPO": repo})
    if not _REPO.fullmatch(repo):
        raise ConfigError(f"ORCHESTRATOR_GITHUB_REPO must be owner/name, got {repo[:80]!r}")
    assert token is not None
    api_url = env.text("ORCHESTRATOR_GITHUB_API_URL", "https://api.github.com")
    return GitHubTicketSettings(token=token, repo=repo, api_url=api_url)


def _jira(env: Env) -> JiraTicketSettings:
    token = env.secret("ORCHESTRATOR_JIRA_TOKEN")
    values = {
        "ORCHESTRATOR_JIRA_URL": env.text("ORCHESTRATOR_JIRA_URL", ""),
        "ORCHESTRATOR_JIRA_EMAIL": env.text("ORCHESTRATOR_JIRA_EMAIL", ""),
        "ORCHESTRATOR_JIRA_TOKEN": token,
        "ORCHESTRATOR_JIRA_PROJECT": env.text("ORCHESTRATOR_JIRA_PROJECT", ""),
    }
    _require("jira", values)
    assert token is not None
    return JiraTicketSettings(
        url=str(values["ORCHESTRATOR_JIRA_URL"]),
        email=str(values["ORCHESTRATOR_JIRA_EMAIL"]),
        token=token,
        project=str(values["ORCHESTRATOR_JIRA_PROJECT"]),
        issue_type=env.text("ORCHESTRATOR_JIRA_ISSUE_TYPE", "Task"),
    )
