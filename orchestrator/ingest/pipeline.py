"""One delivery, start to end: authenticate, bound, parse, map, validate all, then submit each.

A payload is accepted whole or not at all: every signal is validated before any is submitted, and a
problem with any alert refuses the payload with a 422 naming each alert and its problem. Once all
are valid they are submitted in payload order; the 202 lists the incidents. If Temporal is
unreachable the answer is 503 with ``Retry-After``: signals submitted before the outage are durable
and their redelivery is deduplicated by their dedupe keys, so the sender's retry is always safe.

A signed delivery is checked in this order: bearer token, body read, timestamp window, HMAC, then
the replay check (a verified signature is accepted once, by every replica). If the replay check's
database cannot answer, the delivery is refused with 503 and ``Retry-After``, never accepted
unchecked. A delivery that fails on our side (5xx) forgets its signature again, so the sender's
retry of the same bytes is accepted.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orchestrator.client.submission import SignalSubmitter, SubmitResult
from orchestrator.config.ingest import IngestSettings
from orchestrator.domain.signals import BreachSignal
from orchestrator.domain.slo_lookup import SloNames
from orchestrator.errors import AuditError, ConfigError, TemporalUnavailableError, ValidationError
from orchestrator.ingest import auth
from orchestrator.ingest.delivery import ParseContext, Parser, problem
from orchestrator.ingest.limits import RejectionError, decode_json, read_body
from orchestrator.ingest.metrics import IngestMetrics

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rejection_response(rejection: RejectionError) -> JSONResponse:
    return JSONResponse(rejection.body(), status_code=rejection.status, headers=rejection.headers)


def _alert_count(document: Any) -> int:
    if isinstance(document, list):
        return len(document)
    if isinstance(document, dict) and isinstance(document.get("alerts"), list):
        return len(document["alerts"])
    return 1


class SignalEndpoint:
    """The POST handler of one source (``alertmanager``, ``grafana`` or ``generic``)."""

    def __init__(
        self,
        source: str,
        parser: Parser,
        *,
        submitter: SignalSubmitter,
        settings: IngestSettings,
        metrics: IngestMetrics,
        slos: SloNames | None,
        seen: auth.SeenSignatureCache | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if settings.auth_for(source).hmac_secrets and seen is None:
            raise ConfigError(
                f"{source} posts are signed but no seen-signature cache was given:"
                " without one a captured delivery could be replayed"
            )
        self.source = source
        self.parser = parser
        self.submitter = submitter
        self.settings = settings
        self.metrics = metrics
        self.slos = slos
        self.seen = seen
        self.clock = clock
        self.log = structlog.get_logger("orchestrator.ingest").bind(source=source)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        log = self.log.bind(delivery=uuid.uuid4().hex[:12])
        recorded: list[str] = []  # the signature this delivery recorded as seen, if any
        try:
            response = await self._handle(request, log, recorded)
            outcome = "accepted"
        except RejectionError as rejection:
            response = rejection_response(rejection)
            outcome = rejection.code
            log.info("delivery refused", status=rejection.status, reason=rejection.code)
            if rejection.status >= 500:
                await self._release(recorded, log)
        except Exception:
            log.exception("delivery failed")
            await self._release(recorded, log)
            response = rejection_response(
                RejectionError(500, "internal_error", "the signal could not be processed")
            )
            outcome = "internal_error"
        self.metrics.deliveries.labels(source=self.source, outcome=outcome).inc()
        self.metrics.latency.labels(source=self.source).observe(time.perf_counter() - started)
        return response

    def _count_signals(self, outcome: str, count: int) -> None:
        if count:
            self.metrics.signals.labels(source=self.source, outcome=outcome).inc(count)

    async def _handle(self, request: Request, log: Any, recorded: list[str]) -> Response:
        settings = self.settings
        source_auth = settings.auth_for(self.source)
        auth.check_configured(self.source, source_auth, settings.allow_unauthenticated)
        auth.check_bearer(request.headers, source_auth)
        body = await read_body(request, settings.max_body_bytes)
        now = self.clock()
        signed = auth.check_signature(
            request.headers,
            body,
            source_auth,
            window=settings.timestamp_window_seconds,
            now=now.timestamp(),
        )
        if signed is not None:
            await self._check_replay(signed, now, log)
            recorded.append(signed)
        document = decode_json(body, settings.max_depth)
        ctx = ParseContext(settings.mapping, settings.max_alerts, now, self.slos)
        try:
            parsed = self.parser(document, ctx)
        except RejectionError:
            self._count_signals("rejected", _alert_count(document))
            raise
        if parsed.truncated_alerts > 0:
            self.metrics.truncated.labels(source=self.source).inc(parsed.truncated_alerts)
            log.warning(
                "sender truncated alerts",
                truncated_alerts=parsed.truncated_alerts,
                group_key=parsed.group_key[:200],
            )
        await self._validate_all(parsed.signals)
        results = await self._submit_all(parsed.signals, log)
        log.info(
            "delivery accepted",
            signals=len(results),
            statuses=dict(Counter(r.status.value for r in results)),
        )
        return JSONResponse(
            {
                "incidents": [
                    {
                        "incident_id": r.incident_id,
                        "workflow_id": r.workflow_id,
                        "status": r.status.value,
                        "dedupe_key": r.dedupe_key,
                    }
                    for r in results
                ],
                "truncated_alerts": parsed.truncated_alerts,
            },
            status_code=202,
        )

    async def _validate_all(self, signals: list[BreachSignal]) -> None:
        problems = []
        for index, signal in enumerate(signals):
            try:
                await self.submitter.validate(signal)
            except ValidationError as exc:
                problems.append(problem(index, exc.message))
            except TemporalUnavailableError:
                raise self._unavailable(0, len(signals)) from None
        if problems:
            self._count_signals("rejected", len(signals))
            raise RejectionError(
                422,
                "rejected_signals",
                f"{len(problems)} of {len(signals)} signals were refused; nothing was submitted",
                problems=problems,
            )

    async def _submit_all(self, signals: list[BreachSignal], log: Any) -> list[SubmitResult]:
        results: list[SubmitResult] = []
        for index, signal in enumerate(signals):
            started = time.perf_counter()
            try:
                result = await self.submitter.submit(signal)
            except TemporalUnavailableError:
                log.warning("temporal unavailable", accepted=index, total=len(signals))
                raise self._unavailable(index, len(signals)) from None
            except ValidationError as exc:
                self._count_signals("accepted", index)
                self._count_signals("rejected", len(signals) - index)
                raise RejectionError(
                    422,
                    "rejected_signals",
                    f"signal {index} was refused on submission; the {index} before it were"
                    " accepted, redelivery is deduplicated",
                    problems=[problem(index, exc.message)],
                ) from None
            self.metrics.submit_latency.observe(time.perf_counter() - started)
            self.metrics.incidents.labels(status=result.status.value).inc()
            results.append(result)
        self._count_signals("accepted", len(results))
        return results

    async def _check_replay(self, signed: str, now: datetime, log: Any) -> None:
        assert self.seen is not None  # __init__ refuses a signed source without a cache
        try:
            await auth.check_replay(self.seen, self.source, signed, now)
        except AuditError as exc:
            log.warning("replay check unavailable", error=str(exc))
            raise RejectionError(
                503,
                "replay_check_unavailable",
                "the database that remembers seen signatures (the audit store) did not answer,"
                " so this signed delivery could not be checked for replay and was not accepted."
                " Retry later.",
                headers={"Retry-After": str(self.settings.retry_after_seconds)},
            ) from None

    async def _release(self, recorded: list[str], log: Any) -> None:
        if not recorded or self.seen is None:
            return
        try:
            await self.seen.release(self.source, recorded[0])
        except AuditError as exc:
            log.warning(
                "signature not released; a retry of the same bytes is a replay", error=str(exc)
            )

    def _unavailable(self, accepted: int, total: int) -> RejectionError:
        self._count_signals("accepted", accepted)
        self._count_signals("unavailable", total - accepted)
        return RejectionError(
            503,
            "temporal_unavailable",
            f"the workflow service is unreachable; {accepted} of {total} signals were accepted"
            " before it failed. Retry the whole delivery: accepted signals are deduplicated.",
            headers={"Retry-After": str(self.settings.retry_after_seconds)},
        )


__all__ = ["Clock", "SignalEndpoint", "rejection_response", "utc_now"]
