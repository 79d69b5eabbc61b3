"""No secret in any output: random credentials in every setting and in a provider's errors, then
every CLI command and every API route run; none of the credentials may be in what they print,
answer, log or record.

Each example draws high-entropy credentials (tests/security/secret_strategies.py) for every
``secret`` variable of orchestrator/config/variables.py (so a new one is covered at once), the
PostgreSQL audit URL's password, and the parts of a signed download URL. A local LaunchDarkly
(tests/providers/fake_launchdarkly.py) refuses every REST call with an error that echoes the
request's ``Authorization`` header, its URL and the signed URL; a local PagerDuty and a local Slack
(bot token or incoming webhook, drawn), chosen by settings, refuse every page and post with
answers that echo the routing key, the token or the webhook path. Then, on the session's Temporal
dev server:

* a worker and the HTTP app built from those settings, as ``orchestrator api`` builds them: a
  manual launch whose reason carries the signed URL runs until the flag step fails on the
  provider's error; then every route of the app is called;
* every command of the CLI (found from the typer app: tests/security/sweep.py), in a process of
  its own with the same environment; ``up`` and ``api`` on ports of their own, stopped with a
  SIGINT once they serve;
* and then the texts searched: the CLI's stdout and stderr, the API's answers, the log lines
  (structlog and the standard library, through the production processors and formatter), the
  audit records in PostgreSQL and the activity failures in Temporal's history.

``NO_SECRETS_EXAMPLES`` (default 2) sets how many examples run, each some 15 s;
``NO_SECRETS_DUMP=FILE`` writes what was searched (JSON: where -> text) to FILE.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import structlog
import yaml
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from orchestrator.config.files import load_catalog
from orchestrator.config.settings import Settings
from orchestrator.config.variables import VARIABLES
from orchestrator.logging import RedactingFormatter, processors
from tests.providers.conftest import ENV, PROJECT
from tests.providers.fake_launchdarkly import FakeLaunchDarkly
from tests.security.integrations import refusing_integrations
from tests.security.postgres import drop_schema
from tests.security.secret_strategies import (
    ENCODINGS,
    SDK_SAFE,
    Credentials,
    distinct,
    secret,
    signed_url,
)
from tests.security.sweep import ArgValues, Invocation, invocations
from tests.workflows.helpers import occurrence_of
from workers.api import ApiServer, build_app
from workers.devserver import free_port
from workers.runtime import build_runtime

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("NO_SECRETS_EXAMPLES", "2"))
TLS_ONLY = ("ORCHESTRATOR_TEMPORAL_API_KEY",)
"""Secret variables that make every Temporal connection TLS: given to a pass of their own."""
SECRET_VARIABLES = sorted(n for n, v in VARIABLES.items() if v.kind == "secret")
EXTRA = ("audit password", "url signature", "url credential", "url token", "operator token")
SWEEP_DEADLINE = 6.0
"""Seconds a CLI command may run before it is interrupted (``demo`` on a provider that fails)."""


# -- operator access: the one place that knows how the operator API authenticates ---------------


def operator_access(token: str, folder: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """(environment, request headers) that make ``token`` an operator with every role.

    With a tokens file (ORCHESTRATOR_TOKENS_FILE: token hash -> principal and roles) when the
    settings know one, else the older ORCHESTRATOR_INGEST_OPERATOR_TOKEN. A None value in the
    environment means: leave that variable unset."""
    headers = {"Authorization": f"Bearer {token}"}
    if "ORCHESTRATOR_TOKENS_FILE" not in VARIABLES:
        return {"ORCHESTRATOR_INGEST_OPERATOR_TOKEN": token}, headers
    from orchestrator.config.principals import token_hash

    path = folder / "tokens.yaml"
    entry = {"name": "sweep.admin", "roles": ["admin"]}
    path.write_text(yaml.safe_dump({"tokens": {token_hash(token): entry}}), encoding="utf-8")
    env: dict[str, str | None] = {
        name: None for name in VARIABLES if name.startswith("ORCHESTRATOR_INGEST_OPERATOR_")
    }
    env.update({"ORCHESTRATOR_TOKENS_FILE": str(path), "ORCHESTRATOR_TOKEN": token})
    return env, headers


def launch_body(reason: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "playbook": "graceful-fallback",
        "service": "support-assistant",
        "slo": "language-gap",
        "segment": "language=es",
        "reason": reason,
    }
    if "ORCHESTRATOR_TOKENS_FILE" not in VARIABLES:
        body["actor"] = "sweep.oncall"  # before principals, the caller named itself
    return body


# -- the example ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    by_variable: dict[str, str]
    extra: dict[str, str]
    status: int
    slack_webhook: bool = False
    """Slack by incoming webhook (its path is the drawn secret) rather than by bot token."""

    @property
    def credentials(self) -> Credentials:
        return Credentials((*self.by_variable.values(), *self.extra.values()))


@st.composite
def examples(draw: st.DrawFn) -> Example:
    names = [*SECRET_VARIABLES, *EXTRA]
    values = [draw(secret(SDK_SAFE if n.endswith("SDK_KEY") else ENCODINGS)) for n in names]
    assume(distinct(values))
    by_variable = dict(zip(SECRET_VARIABLES, values, strict=False))
    extra = dict(zip(EXTRA, values[len(SECRET_VARIABLES) :], strict=True))
    # Permanent refusals: the step fails (or waits for a person) on the first answer.
    status = draw(st.sampled_from([400, 403, 404, 405]))
    return Example(by_variable, extra, status, draw(st.booleans()))


def environment(
    ex: Example, folder: Path, temporal: str, ld_url: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(environment of every process, operator headers)."""
    schema = f"nosecrets_{uuid.uuid4().hex[:12]}"
    password = quote(ex.extra["audit password"], safe="")
    env: dict[str, str | None] = {
        name: value for name, value in ex.by_variable.items() if name not in TLS_ONLY
    }
    env.update(
        {
            "ORCHESTRATOR_STATE_DIR": str(folder / "state"),
            "ORCHESTRATOR_TEMPORAL_ADDRESS": temporal,
            "ORCHESTRATOR_TASK_QUEUE": f"nosecrets-{uuid.uuid4().hex[:12]}",
            "ORCHESTRATOR_WORKFLOW_ID_PREFIX": f"ns{uuid.uuid4().hex[:10]}",
            "ORCHESTRATOR_CATALOG": str(ROOT / "catalog" / "catalog.yaml"),
            "ORCHESTRATOR_PLAYBOOKS": str(ROOT / "playbooks"),
            "ORCHESTRATOR_AUDIT_URL": (
                f"postgresql://postgres:{password}@127.0.0.1:5432/test?schema={schema}"
            ),
            "ORCHESTRATOR_FLAG_BACKEND": "launchdarkly",
            "LAUNCHDARKLY_PROJECT_KEY": PROJECT,
            "LAUNCHDARKLY_ENVIRONMENT_KEY": ENV,
            "LAUNCHDARKLY_BASE_URL": ld_url,
            "LAUNCHDARKLY_SDK_BASE_URI": ld_url,
            "LAUNCHDARKLY_SDK_STREAM_URI": ld_url,
            "LAUNCHDARKLY_SDK_EVENTS_URI": ld_url,
            "ORCHESTRATOR_API_PORT": str(free_port()),
            "ORCHESTRATOR_SDK_POLL_INTERVAL": "100ms",
            "ORCHESTRATOR_ALERT_MEMORY": "2m",
            "ORCHESTRATOR_ACTOR": "sweep.oncall",
        }
    )
    access, headers = operator_access(ex.extra["operator token"], folder)
    env.update(access)
    return {k: v for k, v in env.items() if v is not None}, headers


@contextmanager
def fake_launchdarkly(ex: Example) -> Iterator[FakeLaunchDarkly]:
    fake = FakeLaunchDarkly(
        api_token=ex.by_variable["LAUNCHDARKLY_API_TOKEN"],
        project_key=PROJECT,
        sdk_keys={ENV: ex.by_variable["LAUNCHDARKLY_SDK_KEY"]},
    )
    for service in load_catalog(ROOT / "catalog" / "catalog.yaml").services:
        for flag in service.flags:
            fake.seed(flag)
    url = signed_url(ex.extra["url signature"], ex.extra["url credential"], ex.extra["url token"])
    fake.fail_next(
        ex.status,
        times=10_000,
        message=f"Refused; the audit export is at {url}",
        echo_request=True,
    )
    with fake.running():
        yield fake


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of this process, rendered as production renders it (redaction included)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    saved = structlog.get_config()
    structlog.configure(
        processors=processors(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.WriteLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    try:
        structlog.get_logger("orchestrator.security-test").info("capture started")
        assert "capture started" in buffer.getvalue(), "structlog is not captured"
        yield buffer
    finally:
        structlog.configure(**saved)
        root.removeHandler(handler)
        root.setLevel(level)


@asynccontextmanager
async def serving(env: dict[str, str], client: Client) -> AsyncIterator[Any]:
    """Worker and HTTP app from ``env``, as ``orchestrator api`` and ``worker`` build them."""
    settings = Settings.from_env(env)
    async with build_runtime(settings) as runtime:
        app = build_app(runtime, client, settings.ingest)
        server = ApiServer(app, settings.api_host, settings.api_port)
        async with runtime.worker(client):
            await server.start()
            try:
                yield app
            finally:
                await server.stop()


async def launch_and_fail(http: httpx.AsyncClient, headers: dict[str, str], reason: str) -> str:
    """A manual launch; returns its incident id once its state shows the provider's refusal."""
    launched = await http.post("/v1/incidents", headers=headers, json=launch_body(reason))
    assert launched.status_code == 202, launched.text
    incident = str(launched.json()["incident_id"])
    text = ""
    for _ in range(300):
        text = (await http.get(f"/v1/incidents/{incident}", headers=headers)).text
        if re.search(r"HTTP 40\d", text):
            return incident
        await asyncio.sleep(0.1)
    raise AssertionError(f"the provider's refusal never reached {incident}: {text[:2000]}")


async def every_route(
    app: Any, http: httpx.AsyncClient, headers: dict[str, str], incident: str
) -> dict[str, str]:
    """Every route of the app, once per method, with the operator's token."""
    answers: dict[str, str] = {}
    for route in app.routes:
        path = re.sub(r"\{incident_id[^}]*\}", incident, route.path)
        path = re.sub(r"\{[^}]+\}", "x", path)
        for method in sorted(set(getattr(route, "methods", None) or {"GET"}) - {"HEAD"}):
            body = {} if method in ("POST", "PUT", "PATCH") else None
            answer = await http.request(method, path, headers=headers, json=body)
            answers[f"{method} {path} -> {answer.status_code}"] = (
                f"{dict(answer.headers)}\n{answer.text}"
            )
    return answers


async def run_cli(env: dict[str, str], runs: list[Invocation], folder: Path) -> str:
    spec = folder / "sweep.json"
    spec.write_text(
        json.dumps(
            {
                "deadline": SWEEP_DEADLINE,
                "invocations": [{"argv": r.argv, "env": r.env} for r in runs],
            }
        )
    )
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder)}
    if "PYTHONPATH" in os.environ:
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.security.sweep",
        str(spec),
        cwd=ROOT,
        env={**base, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-3000:]
    return f"--- stdout\n{out.decode()}\n--- stderr\n{err.decode()}"


def sweep_runs(env: dict[str, str], ex: Example, incident: str, folder: Path) -> list[Invocation]:
    signal_file = folder / "signal.json"
    signal_file.write_text(
        json.dumps(
            {
                "service": "support-assistant",
                "slo": "language-gap",
                "dimension": "fairness",
                "segment": {"key": "language", "value": "es"},
                "observed": 0.06,
                "objective": 0.03,
                "labels": {"runbook": signed_url(*(ex.extra[k] for k in EXTRA[1:4]))},
            }
        )
    )
    values = ArgValues(
        by_name={
            "incident_id": incident,
            "incident": incident,
            "playbook": "graceful-fallback",
            "service": "support-assistant",
            "reason": "sweep",
            "file": str(signal_file),
        },
        path=str(signal_file),
        optional=frozenset({"incident_id", "incident", "file"}),
    )
    own_stack = {  # commands that serve get ports (and, for up, a dev server) of their own
        "up": {
            "ORCHESTRATOR_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "ORCHESTRATOR_TEMPORAL_UI_PORT": str(free_port()),
            "ORCHESTRATOR_API_PORT": str(free_port()),
            "ORCHESTRATOR_STATE_DIR": str(folder / "up"),
        },
        "api": {"ORCHESTRATOR_API_PORT": str(free_port())},
    }
    runs = invocations(values, own_stack)
    tls_key = {name: ex.by_variable[name] for name in TLS_ONLY}
    runs += [  # each Temporal client once more with a key that makes it TLS (and fail)
        Invocation(r.argv, {**r.env, **tls_key})
        for r in invocations(values)
        if r.argv[0] in ("incidents", "status", "signal", "worker") and "--json" not in r.argv
    ]
    return runs


async def audit_records(env: dict[str, str], incident: str) -> str:
    settings = Settings.from_env(env)
    from orchestrator.audit.factory import open_audit_store

    store = open_audit_store(settings.effective_audit_url)
    try:
        events = await store.events(since_seq=0, limit=10_000)
        assert any(e.incident_id == incident for e in events), "no audit record of the incident"
        return "\n".join(e.model_dump_json() for e in events)
    finally:
        await store.close()


async def activity_failures(client: Client, incident: str) -> str:
    handle = client.get_workflow_handle(await occurrence_of(client, incident))
    failed = [
        str(e)
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED
    ]
    assert failed, "no activity failed: the provider's refusal did not reach the history"
    return "\n".join(failed)


def leaks(ex: Example, texts: dict[str, str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for form in ex.credentials.leaks(text):
            at = text.index(form)
            found.append(f"{where}: {form!r} in ...{text[max(0, at - 300) : at + 100]!r}")
    return found


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure names its leak already
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ex=examples())
async def test_no_secret_in_any_output(
    ex: Example, temporal_env: WorkflowEnvironment, tmp_path_factory: Any
) -> None:
    folder = Path(tmp_path_factory.mktemp("nosecrets"))
    client = temporal_env.client
    address = client.service_client.config.target_host
    with (
        fake_launchdarkly(ex) as fake,
        refusing_integrations(ex.by_variable, ex.extra, ex.slack_webhook) as integrations,
    ):
        env, headers = environment(ex, folder, address, fake.url)
        env.update({k: v for k, v in integrations.items() if v is not None})
        env = {k: v for k, v in env.items() if integrations.get(k, "") is not None}
        try:
            texts: dict[str, str] = {}
            with captured_logs() as logs:
                async with serving(env, client) as app:
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(transport=transport, base_url="http://api") as h:
                        reason = "answers degraded; evidence at " + signed_url(
                            ex.extra["url signature"],
                            ex.extra["url credential"],
                            ex.extra["url token"],
                        )
                        incident = await launch_and_fail(h, headers, reason)
                        texts.update(await every_route(app, h, headers, incident))
                    texts["history"] = await activity_failures(client, incident)
                    texts["cli"] = await run_cli(env, sweep_runs(env, ex, incident, folder), folder)
                texts["logs"] = logs.getvalue()
            texts["audit"] = await audit_records(env, incident)
            spool = Settings.from_env(env).audit_spool_dir
            texts["spool"] = "".join(p.read_text() for p in spool.glob("**/*") if p.is_file())
        finally:
            drop_schema(env["ORCHESTRATOR_AUDIT_URL"].rsplit("schema=", 1)[1])
    assert fake.requests, "the provider was never called"
    assert "##### " in texts["cli"] and "up" in texts["cli"]
    if os.environ.get("NO_SECRETS_DUMP"):  # to see what was searched
        await asyncio.to_thread(Path(os.environ["NO_SECRETS_DUMP"]).write_text, json.dumps(texts))
    problems = leaks(ex, texts)
    assert not problems, "\n\n".join(problems)
