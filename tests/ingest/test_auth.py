"""Every way authentication fails is refused with 401, before anything is parsed or submitted."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from orchestrator.ingest import SourceAuth, create_app
from orchestrator.secrets import Secret
from tests.ingest.conftest import make_settings, wall_clock
from tests.ingest.memory_submitter import MemorySubmitter
from tests.ingest.samples import (
    ALERTMANAGER_V4,
    AM_TOKEN,
    GENERIC_SIGNAL,
    GRAFANA_HMAC,
    GRAFANA_TOKEN,
    GRAFANA_TS_HEADER,
    GRAFANA_WEBHOOK,
    bearer,
    body_of,
    grafana_headers,
)

SIG = "X-Grafana-Alerting-Signature"


async def _refused(response: httpx.Response, submitter: MemorySubmitter, words: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert words in response.json()["message"]
    assert submitter.validated == 0
    assert submitter.submitted == []


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "missing Authorization"),
        ({"Authorization": "Bearer wrong-token"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {AM_TOKEN}x"}, "invalid bearer token"),
        ({"Authorization": f"Bearer {AM_TOKEN[:-1]}"}, "invalid bearer token"),
        ({"Authorization": f"Basic {AM_TOKEN}"}, "not a bearer token"),
        ({"Authorization": f"Bearer {GRAFANA_TOKEN}"}, "invalid bearer token"),  # other source's
        ({"Authorization": "Bearer \u00e9t\u00e9".encode("latin-1")}, "invalid bearer token"),
    ],
)
async def test_bearer_failures(
    client: httpx.AsyncClient,
    submitter: MemorySubmitter,
    headers: dict[str, str | bytes],
    words: str,
) -> None:
    raw = [(k.encode(), v if isinstance(v, bytes) else v.encode()) for k, v in headers.items()]
    response = await client.post(
        "/v1/signals/alertmanager", content=body_of(ALERTMANAGER_V4), headers=raw
    )
    await _refused(response, submitter, words)
    assert AM_TOKEN not in response.text


async def test_errors_never_echo_secrets(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/signals", content=body_of(GENERIC_SIGNAL), headers=bearer(GRAFANA_TOKEN)
    )
    assert response.status_code == 401
    for secret in (GRAFANA_TOKEN, AM_TOKEN, GRAFANA_HMAC):
        assert secret not in response.text


async def test_grafana_signed_delivery_is_accepted(client: httpx.AsyncClient) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    response = await client.post("/v1/signals/grafana", content=body, headers=grafana_headers(body))
    assert response.status_code == 202, response.text


async def test_missing_signature(client: httpx.AsyncClient, submitter: MemorySubmitter) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    headers = grafana_headers(body)
    del headers[SIG]
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    await _refused(response, submitter, f"missing {SIG}")


async def test_signature_over_another_body(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    other = body.replace(b"language-gap", b"task-success")
    response = await client.post(
        "/v1/signals/grafana", content=other, headers=grafana_headers(body)
    )
    await _refused(response, submitter, "does not match")


async def test_reserialised_json_breaks_the_signature(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    """Same JSON value, different bytes (a proxy re-serialised it): the HMAC is over the bytes."""
    body = body_of(GRAFANA_WEBHOOK)
    reserialised = json.dumps(json.loads(body), indent=2, sort_keys=True).encode()
    assert json.loads(reserialised) == json.loads(body)
    response = await client.post(
        "/v1/signals/grafana", content=reserialised, headers=grafana_headers(body)
    )
    await _refused(response, submitter, "does not match")


async def test_truncated_signature(client: httpx.AsyncClient, submitter: MemorySubmitter) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    headers = grafana_headers(body)
    headers[SIG] = headers[SIG][:32]
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    await _refused(response, submitter, "does not match")


async def test_signature_with_wrong_secret(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    response = await client.post(
        "/v1/signals/grafana", content=body, headers=grafana_headers(body, secret="not-it")
    )
    await _refused(response, submitter, "does not match")


@pytest.mark.parametrize("age", [301, 3600, -305])  # whole seconds: a future one needs a margin
async def test_stale_or_future_timestamp(
    client: httpx.AsyncClient, submitter: MemorySubmitter, age: int
) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    # Correctly signed, but with a timestamp outside the 5-minute window: a replay.
    headers = grafana_headers(body, timestamp=int(time.time()) - age)
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    await _refused(response, submitter, "outside the accepted window")


async def test_timestamp_inside_window_is_fine(client: httpx.AsyncClient) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    headers = grafana_headers(body, timestamp=int(time.time()) - 240)
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    assert response.status_code == 202


@pytest.mark.parametrize("stamp", [None, "", "yesterday", "1.5e9", "-5"])
async def test_missing_or_malformed_timestamp(
    client: httpx.AsyncClient, submitter: MemorySubmitter, stamp: str | None
) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    headers = grafana_headers(body)
    if stamp is None:
        del headers[GRAFANA_TS_HEADER]
    else:
        headers[GRAFANA_TS_HEADER] = stamp
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    await _refused(response, submitter, GRAFANA_TS_HEADER)


async def test_timestamp_is_part_of_the_signature(
    client: httpx.AsyncClient, submitter: MemorySubmitter
) -> None:
    body = body_of(GRAFANA_WEBHOOK)
    headers = grafana_headers(body)
    headers[GRAFANA_TS_HEADER] = str(int(headers[GRAFANA_TS_HEADER]) + 1)
    response = await client.post("/v1/signals/grafana", content=body, headers=headers)
    await _refused(response, submitter, "does not match")


async def test_unconfigured_source_refuses_everything(catalog: object) -> None:
    submitter = MemorySubmitter(catalog)  # type: ignore[arg-type]
    settings = make_settings(auth={"alertmanager": SourceAuth(tokens=(Secret(AM_TOKEN),))})
    app = create_app(submitter, settings, clock=wall_clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.post("/v1/signals", content=body_of(GENERIC_SIGNAL))
        await _refused(response, submitter, "no token or signing secret is configured")
        open_settings = make_settings(auth={}, allow_unauthenticated=True)
        open_app = create_app(submitter, open_settings, clock=wall_clock)
        open_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=open_app), base_url="http://t"
        )
        async with open_client:
            accepted = await open_client.post("/v1/signals", content=body_of(GENERIC_SIGNAL))
        assert accepted.status_code == 202
