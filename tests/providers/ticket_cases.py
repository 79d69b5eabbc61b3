"""What the ticket adapters' tests share: the worked example's review, and every text a ticket
failure leaves (errors, the activity failure Temporal records and the audit copies, log lines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.activities.notices import NoticeActivities
from orchestrator.activities.ops_types import ReviewInput
from orchestrator.domain.ops_models import ReviewDraft
from orchestrator.domain.provider_failures import UNAVAILABLE_ERROR_TYPE
from orchestrator.errors import PERMANENT_ERROR_TYPE, ProviderError
from orchestrator.providers.paging import LocalPager
from orchestrator.providers.tickets import TicketProvider
from tests.security.test_no_secrets import captured_logs

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def draft(key: str = "incident-es/review") -> ReviewDraft:
    return ReviewDraft(
        key=key,
        incident_id="incident-support-assistant--language-gap@language=es",
        service="support-assistant",
        slo="language-gap",
        severity="SEV2",
        title="Fairness review: Spanish answers after prompt v7",
        owner="cx-ai-platform",
        deadline=T0 + timedelta(days=5),
        verification="gap <= 3 points over 500 reviewed Spanish conversations",
        questions=("prompt change?", "stale retrieval index?"),
        evidence={"versions_changed": [{"component": "prompt", "before": "v7", "after": "v6"}]},
        links=("https://grafana.example/d/cx-fairness",),
    )


async def failure_texts(tickets: TicketProvider, tmp_path: Path) -> list[str]:
    """Open a review that fails (the caller made the server refuse), directly and through the
    activity, with logs captured: every text that failure produced."""
    activities = NoticeActivities(tickets, LocalPager(tmp_path / "pages.json"))
    with captured_logs() as logs:
        with pytest.raises(ProviderError) as caught:
            await tickets.open_review(draft(), T0)
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(
                activities.open_incident_review, ReviewInput(draft=draft())
            )
    texts = [str(caught.value), repr(caught.value), repr(tickets), logs.getvalue()]
    cause: BaseException | None = failed.value
    while cause is not None:
        texts.append(str(cause))
        cause = cause.__cause__
    assert "[redacted]" in failed.value.message, "the echoed credential was there to mask"
    return texts


def activity_error(exc: ProviderError, error_type: str, wait: float | None) -> ApplicationError:
    """The activity error ``exc`` becomes: of ``error_type``, retried unless permanent, the next
    attempt after ``wait`` seconds (None: the retry policy's backoff)."""
    failure = permanent_or_retryable(exc)
    assert failure.type == error_type
    assert failure.non_retryable is (error_type == PERMANENT_ERROR_TYPE)
    delay = failure.next_retry_delay
    assert (delay.total_seconds() if delay else None) == wait
    return failure


async def refused_then_timed_out(
    tickets: Callable[[httpx.AsyncClient, str], TicketProvider], hang: Callable[[], None]
) -> None:
    """A wrong token is refused for good; a server that hangs (``hang``) is a retried timeout."""
    async with httpx.AsyncClient(timeout=0.2) as http:
        with pytest.raises(ProviderError, match="HTTP 401") as refused:
            await tickets(http, "wrong-token").open_review(draft(), T0)
        activity_error(refused.value, PERMANENT_ERROR_TYPE, None)
        hang()
        with pytest.raises(ProviderError, match="Timeout") as hung:
            await tickets(http, "").open_review(draft(), T0)
    activity_error(hung.value, UNAVAILABLE_ERROR_TYPE, None)
