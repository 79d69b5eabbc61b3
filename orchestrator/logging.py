"""structlog, configured once; a redaction processor keeps secrets out of every line."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from orchestrator.secrets import redact

_configured = False


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    redacted: MutableMapping[str, Any] = redact(dict(event_dict))
    return redacted


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Configure structlog and stdlib logging once (to stderr); later calls change nothing."""
    global _configured
    if _configured:
        return
    _configured = True
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    for noisy in ("httpx", "ldclient", "temporalio.activity", "temporalio.worker"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks become text before redaction, so secrets in them are masked too.
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
