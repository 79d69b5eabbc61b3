"""One delivery, start to end: authenticate, bound, parse, map, validate all, then submit each.

A payload is accepted whole or not at all: every signal is validated before any is submitted, and a
problem with any alert refuses the payload with a 422 naming each alert and its problem. Once all
are valid they are submitted in payload order; the 202 lists the incidents. If Temporal is
unreachable the answer is 503 with ``Retry-After``: signals submitted before the outage are durable
and their redelivery is deduplicated by their dedupe keys, so the sender's retry is always safe.
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
from orchestrator.errors import TemporalUnavailableError, ValidationError
from orchestrator.ingest import auth
from orchestrator.ingest.delivery import ParseContext, Parser, problem
from orchestrator.ingest.limits import RejectionError, decode_json, read_body
from orchestrator.ingest.mapping import DimensionLookup
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
        dimension_for: DimensionLookup | None,
        clock: Clock = utc_now,
    ) -> None:
        self.source = source
        self.parser = parser
        self.submitter = submitter
        self.settings = settings
        self.metrics = metrics
        self.dimension_for = dimension_for
        self.clock = clock
        self.log = structlog.get_logger("orchestrator.ingest").bind(source=source)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        log = self.log.bind(delivery=uuid.uuid4().hex[:12])
        try:
            response = await self._handle(request, log)
            outcome = "accepted"
        except RejectionError as rejection:
            response = rejection_response(rejection)
            outcome = rejection.code
            log.info("delivery refused", status=rejection.status, reason=rejection.code)
        except Exception:
            log.exception("delivery failed")
            response = rejection_response(
                RejectionError(500, "internal_error", "the signal could not be processed")
            )
            outcome = "internal_error"
        self.metrics.deliveries.inc(source=self.source, outcome=outcome)
        self.metrics.latency.observe(time.perf_counter() - started, source=self.source)
        return response

    def _count_signals(self, outcome: str, count: int) -> None:
        if count:
            self.metrics.signals.inc(count, source=self.source, outcome=outcome)

    async def _handle(self, request: Request, log: Any) -> Response:
        settings = self.settings
        source_auth = settings.auth_for(self.source)
        auth.check_configured(self.source, source_auth, settings.allow_unauthenticated)
        auth.check_bearer(request.headers, source_auth)
        body = await read_body(request, settings.max_body_bytes)
        now = self.clock()
        auth.check_signature(
            request.headers,
            body,
            source_auth,
            window=settings.timestamp_window_seconds,
            now=now.timestamp(),
        )
        document = decode_json(body, settings.max_depth)
        ctx = ParseContext(settings.mapping, settings.max_alerts, now, self.dimension_for)
        try:
            parsed = self.parser(document, ctx)
        except RejectionError:
            self._count_signals("rejected", _alert_count(document))
            raise
        if parsed.truncated_alerts > 0:
            self.metrics.truncated.inc(parsed.truncated_alerts, source=self.source)
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
            self.metrics.incidents.inc(status=result.status.value)
            results.append(result)
        self._count_signals("accepted", len(results))
        return results

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
