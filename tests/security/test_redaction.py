"""Each way a credential used to get out, closed: a DSN password in ``up``'s start lines, ``--json``
output printed as it came, and a provider's error that echoes a token or a signed URL reaching
the activity failure, Temporal's history, the log, the audit record and the CLI's error line.

The whole system under random credentials is tests/security/test_no_secrets.py; these are the
single defects, each cheap, each with its own name.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import structlog
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.converter import DefaultFailureConverter, DefaultPayloadConverter
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from orchestrator.activities.errors import permanent_or_retryable
from orchestrator.audit.model import AuditEvent
from orchestrator.audit.rows import prepare_event
from orchestrator.cli.common import echo_json, run
from orchestrator.errors import FlagProviderError, ProviderError
from orchestrator.logging import RedactingFormatter, processors
from orchestrator.providers.launchdarkly import LaunchDarklyFlagProvider
from orchestrator.secrets import REDACTED, Secret, mask_shapes, redact_text
from tests.providers.conftest import ANSWER_MODE, ENV, PROJECT
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.security.postgres import drop_schema
from tests.security.secret_strategies import secret, signed_url
from tests.workers.test_up import Up

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "orchestrator")

# -- redact_text: every shape a credential takes in free text -----------------------------------

SHAPES = [
    "postgresql://auditor:{s}@db.internal:5432/audit?schema=orchestrator",
    "postgres://auditor:{s}@db/audit",
    "connecting to https://deploy-bot:{s}@deploy.example.com/hooks/rollback failed",
    "GET https://storage.example.com/o?X-Amz-Signature={s}&X-Amz-Date=20260101T000000Z",
    "https://storage.googleapis.com/b/o?X-Goog-Credential={s}&X-Goog-Signature=00",
    "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026&sig={s}",
    "callback https://hooks.example.com/x?access_token={s}",
    "https://api.example.com/v1/thing?env=prod&token={s}",
    "https://maps.example.com/api?key={s}",
    "Authorization: {s}",
    "authorization: Bearer {s}",
    "Authorization: Basic {s}",
    "request headers {{'Authorization': '{s}', 'Accept': 'application/json'}}",
    '{{"message": "denied", "headers": {{"authorization": "{s}"}}}}',
    "X-Api-Key: {s}",
    "x-auth-token: {s}\nnext line",
    "Cookie: session={s}; theme=dark",
    "refused the Bearer {s} it was given",
    '{{"token": "{s}", "code": "unauthorized"}}',
    "{{'client_secret': '{s}'}}",
    "password={s} user=auditor",
    "posting to https://hooks.slack.com/services/{s} failed",
    "relay http://relay.internal:8080/services/T0AB12CD/B0EF34GH/{s} refused",
    '{{"routing_key": "{s}", "event_action": "trigger"}}',
    "event routing_key={s} refused",
]


@settings(max_examples=300, deadline=None)
@given(shape=st.sampled_from(SHAPES), value=secret())
def test_redact_text_masks_a_credential_in_every_shape(shape: str, value: str) -> None:
    text = shape.format(s=value if "://" not in shape.split("{s}")[0] else quote(value, safe=""))
    shown = redact_text(text)
    assert value not in shown and quote(value, safe="") not in shown, (text, shown)
    assert REDACTED in shown


@pytest.mark.parametrize(
    "text",
    [
        "p95 time to first token <= 800 ms over 7 d",
        "first token: 912 ms; max_tokens=800",
        "Temporal 127.0.0.1:7233, Web UI http://127.0.0.1:8233",
        "API        http://127.0.0.1:8080 (OpenAPI at http://127.0.0.1:8080/openapi.json)",
        "missing X-Grafana-Alerting-Signature header",
        "sig:alertmanager:5e884898da28047151d0e56f8dc62927",
        "flag 'support-assistant-answer-mode' serves 'human-queue' to language=es",
        "LaunchDarkly GET flag 'f' (support/production): HTTP 404 (not_found): Unknown flag",
        "PagerDuty trigger 'incident-x/page/failed': HTTP 429: throttle event",
        "Slack chat.postMessage 'k' to C0INCIDENTS: channel_not_found",
    ],
)
def test_redact_text_leaves_ordinary_text_alone(text: str) -> None:
    assert redact_text(text) == text


# Pieces of every shape (and of near misses), joined at random: the pre-check that lets
# ordinary text skip the patterns must never skip text that one of them would mask.
_PIECES = st.sampled_from(
    [
        "Bearer ",
        "bearer\t",
        "Authorization",
        "X-Api-Key",
        "cookie",
        "Set-Cookie",
        ":",
        "=",
        " ",
        '"',
        "'",
        "/",
        "@",
        "?",
        "&",
        ";",
        "://",
        "https",
        "token",
        "key",
        "sig",
        "api-",
        "sdk-",
        "mob-",
        "orch_",
        "eyJ",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "AKIA",
        "asia",
        "hooks.slack.com/services/",
        "/services/T0AB/B0CD/",
        "routing_key",
        "0123456789abcdef",
        "-",
        ".",
        "_",
        "{",
        "}",
    ]
)


# The least text each pattern masks: none may be taken for ordinary text by the pre-check.
_MINIMAL = [
    "x-api-key: k1",
    "cookie: c1",
    "bearer t1",
    "a://u:p@h",
    "token=t1",
    "&key=k1",
    '"token": "t1"',
    "'token': 't1'",
    "api-12345678-1234-1234-1234-123456789012",
    "orch_abcdefghijklmnop",
    "eyJabcdefgh.abcdefgh.x",
    "ghp_abcdefghijklmnopqrst",
    "github_pat_abcdefghijklmnopqrst",
    "xoxb-1234567890",
    "AKIAABCDEFGHIJKLMNOP",
    "hooks.slack.com/services/x",
    "/services/T00/B00/x",
]


@pytest.mark.parametrize("text", _MINIMAL)
def test_the_least_of_each_shape_is_masked(text: str) -> None:
    assert REDACTED in redact_text(text)
    assert redact_text(text) == mask_shapes(text)


@settings(max_examples=400)
@given(parts=st.lists(st.one_of(_PIECES, secret(), st.text(max_size=8)), max_size=14))
def test_the_fast_path_masks_exactly_what_every_pattern_would(parts: list[str]) -> None:
    text = "".join(parts)
    assert redact_text(text) == mask_shapes(text)
    assert redact_text(text) == mask_shapes(text)  # the remembered answer too


def test_redact_text_masks_the_secrets_it_is_given_whatever_their_shape() -> None:
    assert redact_text("echoed q7Zp0vXk2LmN back", Secret("q7Zp0vXk2LmN")) == (
        f"echoed {REDACTED} back"
    )


# -- up: the start lines ----------------------------------------------------------------------

UP_PASSWORD = "Up-Secret-7f3a9c0d1e"


async def test_up_prints_the_audit_url_with_its_password_masked(tmp_path: Path) -> None:
    """``up`` on a PostgreSQL audit store whose URL holds a password (trust auth: any password
    connects) prints the URL with the password masked, and nowhere the password itself."""
    schema = f"up_{uuid.uuid4().hex[:10]}"
    up = Up(tmp_path / "state")
    up.env["ORCHESTRATOR_AUDIT_URL"] = (
        f"postgresql://postgres:{UP_PASSWORD}@127.0.0.1:5432/test?schema={schema}"
    )
    try:
        await up.start()
        await asyncio.sleep(0.5)  # `ready` is printed just before the Ctrl-C handler is set
        assert await up.stop() == 0, "".join(up.output)
    finally:
        up.kill()
        drop_schema(schema)
    text = "".join(up.output)
    assert "audit      postgresql://postgres:[redacted]@127.0.0.1:5432/test" in text, text
    assert UP_PASSWORD not in text


# -- --json -----------------------------------------------------------------------------------


def test_json_output_is_redacted() -> None:
    """Every ``--json`` goes through ``echo_json``: secret-named keys and secrets in values are
    masked (a provider's error in an incident's state, a signed URL in a reason)."""
    token, signature = "tok-5e8848f0a1", "sig-0b9d3e11f4"
    app = typer.Typer()

    @app.command()
    def show() -> None:
        echo_json(
            {
                "api_token": token,
                "steps": [{"detail": f"refused: Authorization: Bearer {token}"}],
                "reason": f"see https://s.example.com/o?X-Amz-Signature={signature}",
                "when": Path("/tmp/x"),
            }
        )

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0, result.output
    assert token not in result.output and signature not in result.output
    shown = json.loads(result.output)
    assert shown["api_token"] == REDACTED
    assert shown["when"] == "/tmp/x"


# -- a provider's error: every way out --------------------------------------------------------


def _history_text(error: ApplicationError) -> str:
    """What Temporal writes to the history for an activity that raised ``error`` (causes too)."""
    from temporalio.api.failure.v1 import Failure

    failure = Failure()
    DefaultFailureConverter().to_failure(error, DefaultPayloadConverter(), failure)
    return str(failure)


def _log_lines(exc: BaseException) -> str:
    """``exc`` logged through the production structlog chain and the standard library's
    redacting formatter."""
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.WriteLogger(out), processors=processors(), context_class=dict
    )
    try:
        raise exc
    except BaseException:
        logger.exception("step failed", error=exc)
    record = logging.LogRecord(
        "temporalio.activity", logging.WARNING, __file__, 1, "failed: %s", (exc,), None
    )
    record.exc_info = (type(exc), exc, exc.__traceback__)
    return out.getvalue() + RedactingFormatter("%(message)s").format(record)


def _cli_error_line(exc: BaseException) -> str:
    app = typer.Typer()

    @app.command()
    def fails() -> None:
        async def body() -> None:
            raise exc

        run(body)

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    return result.output


def _ways_out(exc: ProviderError) -> dict[str, str]:
    """Every place a provider's failure is written: the activity failure and its history, the
    log, the audit record of the failed step, the CLI's error line."""
    try:
        try:
            raise exc
        except ProviderError as caught:
            raise permanent_or_retryable(caught) from caught
    except ApplicationError as failure:
        activity = failure
    audit = prepare_event(
        AuditEvent(
            event_key="k",
            incident_id="i",
            kind="step_failed",
            at=datetime.now(UTC),
            actor="orchestrator",
            summary=f"route: {activity.message}"[:500],
            data={"error": str(exc)},
        )
    )
    return {
        "provider error": str(exc),
        "activity failure": activity.message,
        "history": _history_text(activity),
        "log": _log_lines(exc),
        "audit": audit.model_dump_json(),
        "cli": _cli_error_line(exc),
    }


@settings(max_examples=15, deadline=None)
@given(token=secret(), signature=secret(), password=secret(), status=st.sampled_from([403, 500]))
async def test_a_launchdarkly_error_echoing_credentials_is_scrubbed_on_every_way_out(
    token: str, signature: str, password: str, status: int
) -> None:
    fake = FakeLaunchDarkly(api_token=token, project_key=PROJECT, sdk_keys={ENV: "sdk-x"})
    fake.seed(ANSWER_MODE)
    url = signed_url(signature, "AKIAEXAMPLE0000", "t0k3n-" + signature[:6])
    proxy = f"https://relay:{quote(password, safe='')}@ld-relay.internal:8030"
    fake.fail_next(status, message=f"denied; export at {url}; via {proxy}", echo_request=True)
    with fake.running():
        async with httpx.AsyncClient(timeout=5.0) as http:
            ld = LaunchDarklyFlagProvider(
                http,
                api_token=Secret(token),
                project_key=PROJECT,
                environment_key=ENV,
                base_url=fake.url,
            )
            with pytest.raises(FlagProviderError) as caught:
                await ld.get_flag(ANSWER_MODE.key)
    ways_out = await asyncio.to_thread(_ways_out, caught.value)  # the CLI runs its own loop
    for where, text in ways_out.items():
        for value in (token, signature, password, quote(signature, safe="")):
            assert value not in text, f"{where}: {text}"
    assert "HTTP" in str(caught.value)


@pytest.mark.parametrize(
    "message",
    [
        "POST https://deploy.example.com/hooks/pin?token=Tk-8c1d2e3f4a5b6c7d failed: 401",
        "pager answered 403: {'Authorization': 'Tk-8c1d2e3f4a5b6c7d'}",
        "ticket API https://bot:Tk-8c1d2e3f4a5b6c7d@jira.example.com/rest refused",
    ],
)
def test_any_provider_error_is_scrubbed_before_it_becomes_an_activity_failure(
    message: str,
) -> None:
    cause = RuntimeError(f"transport said: {message}")
    exc = ProviderError(message, retryable=False)
    exc.__cause__ = cause
    for where, text in _ways_out(exc).items():
        assert "Tk-8c1d2e3f4a5b6c7d" not in text, f"{where}: {text}"
