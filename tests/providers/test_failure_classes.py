"""Every provider answer lands in one class of the failure table, and the activity error it becomes
says what happens next (issue 10, defect 6).

The real LaunchDarkly REST adapter against the local LaunchDarkly stand-in answering each status
as LaunchDarkly documents it; the translation is the activities' own
(``orchestrator/activities/errors.py``). docs/provider-errors.md shows the table the code holds.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.domain.provider_failures import (
    RATE_LIMITED_ERROR_TYPE,
    TABLE,
    UNAVAILABLE_ERROR_TYPE,
    failure_for_status,
    table_markdown,
)
from orchestrator.errors import (
    NEEDS_PERSON_ERROR_TYPE,
    PERMANENT_ERROR_TYPE,
    FailureClass,
    FlagProviderError,
)
from tests.providers.conftest import ANSWER_MODE, API_TOKEN, ENV, PROJECT, ld_provider
from tests.providers.fake_launchdarkly import FakeLaunchDarkly

DOC = Path(__file__).resolve().parents[2] / "docs" / "provider-errors.md"
KEY = ANSWER_MODE.key


async def failure_of(fake: FakeLaunchDarkly, http: httpx.AsyncClient) -> ApplicationError:
    """The activity error of one change to the flag (it must fail)."""
    ld = ld_provider(fake, http)
    with pytest.raises(FlagProviderError) as caught:
        await ld.apply(KEY, [], "")  # no instructions: a read, which the fake answers first
    return permanent_or_retryable(caught.value)


@pytest.mark.parametrize(
    ("status", "headers", "failure", "error_type", "retried"),
    [
        (500, {}, FailureClass.UNAVAILABLE, UNAVAILABLE_ERROR_TYPE, True),
        (503, {}, FailureClass.UNAVAILABLE, UNAVAILABLE_ERROR_TYPE, True),
        (429, {"Retry-After": "5"}, FailureClass.RATE_LIMITED, RATE_LIMITED_ERROR_TYPE, True),
        (429, {"Retry-After": "600"}, FailureClass.RATE_LIMITED, NEEDS_PERSON_ERROR_TYPE, False),
        (405, {}, FailureClass.NEEDS_APPROVAL, NEEDS_PERSON_ERROR_TYPE, False),
        (400, {}, FailureClass.REFUSED, PERMANENT_ERROR_TYPE, False),
        (401, {}, FailureClass.REFUSED, PERMANENT_ERROR_TYPE, False),
        (403, {}, FailureClass.REFUSED, PERMANENT_ERROR_TYPE, False),
        (404, {}, FailureClass.REFUSED, PERMANENT_ERROR_TYPE, False),
    ],
)
async def test_each_answer_becomes_the_activity_error_the_table_names(
    fake_ld: FakeLaunchDarkly,
    http: httpx.AsyncClient,
    status: int,
    headers: dict[str, str],
    failure: FailureClass,
    error_type: str,
    retried: bool,
) -> None:
    assert failure_for_status(status) is failure
    fake_ld.fail_next(status, message="the provider's own words", headers=headers)
    error = await failure_of(fake_ld, http)
    assert error.type == error_type
    assert error.non_retryable is (not retried)
    assert "the provider's own words" in error.message
    assert f"'{KEY}' ({PROJECT}/{ENV})" in error.message, "names the flag and environment"
    assert API_TOKEN not in error.message


async def test_a_short_rate_limit_sets_the_next_attempt_and_a_long_one_names_the_cap(
    fake_ld: FakeLaunchDarkly, http: httpx.AsyncClient
) -> None:
    fake_ld.fail_next(429, headers={"Retry-After": "7"})
    short = await failure_of(fake_ld, http)
    assert short.next_retry_delay is not None and short.next_retry_delay.total_seconds() == 7
    fake_ld.fail_next(429, headers={"Retry-After": "900"})
    long = await failure_of(fake_ld, http)
    assert "asked to wait 900s, longer than the 60s cap" in long.message


async def test_an_environment_requiring_approval_answers_405_with_its_reason(
    fake_ld: FakeLaunchDarkly, http: httpx.AsyncClient
) -> None:
    from orchestrator.domain.flags import TurnFlagOff

    fake_ld.approval_required.add(ENV)
    with pytest.raises(FlagProviderError) as caught:
        await ld_provider(fake_ld, http).apply(KEY, [TurnFlagOff()], "route es")
    assert caught.value.failure is FailureClass.NEEDS_APPROVAL
    error = permanent_or_retryable(caught.value)
    assert error.type == NEEDS_PERSON_ERROR_TYPE
    assert "HTTP 405" in error.message and "requires approval" in error.message
    assert fake_ld.flags[ENV][KEY].on is True, "nothing changed"


def test_every_class_has_one_row_and_the_doc_shows_the_table() -> None:
    assert sorted(r.failure for r in TABLE) == sorted(FailureClass)
    assert table_markdown() in DOC.read_text(), "docs/provider-errors.md is out of date"
