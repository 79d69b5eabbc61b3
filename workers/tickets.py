"""The ticket system RCA tasks go to, as settings choose (part of the composition root)."""

from __future__ import annotations

import httpx

from orchestrator.config.settings import Settings
from orchestrator.providers.github_tickets import GitHubTickets
from orchestrator.providers.jira_tickets import JiraTickets
from orchestrator.providers.tickets import TicketProvider


def ticket_provider(
    settings: Settings, http: httpx.AsyncClient, local: TicketProvider
) -> TicketProvider:
    """GitHub Issues or Jira Cloud over the shared ``http`` client; else ``local``."""
    chosen, cap = settings.tickets, settings.rate_limit_cap
    if chosen.backend == "github" and chosen.github is not None:
        gh = chosen.github
        return GitHubTickets(
            http, token=gh.token, repo=gh.repo, base_url=gh.api_url, rate_limit_cap=cap
        )
    if chosen.backend == "jira" and chosen.jira is not None:
        jira = chosen.jira
        return JiraTickets(
            http,
            base_url=jira.url,
            email=jira.email,
            token=jira.token,
            project=jira.project,
            issue_type=jira.issue_type,
            rate_limit_cap=cap,
        )
    return local
