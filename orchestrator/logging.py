"""structlog, configured once; a redaction processor keeps secrets out of every line.

Both kinds of log line are redacted: structlog events (the event text, every value, exception
tracebacks, whatever their type) by :func:`redact_event`, and the standard library's records
(httpx, ldclient, temporalio, uvicorn, psycopg: message, arguments, traceback) by
:class:`RedactingFormatter` on the root handler.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from orchestrator.secrets import Secret, redact, redact_text

_configured = False
_PLAIN = (str, int, float, bool, type(None), dict, list, tuple, Secret)


def redact_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The structlog processor: values of other types (an exception, a URL object) are rendered
    as text first, so what they print is redacted too."""
    plain = {k: v if isinstance(v, _PLAIN) else str(v) for k, v in event_dict.items()}
    redacted: MutableMapping[str, Any] = redact(plain)
    return redacted


class RedactingFormatter(logging.Formatter):
    """A standard-library formatter whose whole output (traceback included) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def processors(*, json: bool = False) -> list[Any]:
    """The structlog chain: context, level, time, tracebacks as text, redaction, rendering."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        # Tracebacks become text before redaction, so secrets in them are masked too.
        structlog.processors.format_exc_info,
        redact_event,
        # Stamped after redaction: the time is ours, and unique per line (no remembered answer).
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        renderer,
    ]


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Configure structlog and stdlib logging once (to stderr); later calls change nothing."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    for noisy in ("httpx", "ldclient", "temporalio.activity", "temporalio.worker"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    structlog.configure(
        processors=processors(json=json),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
