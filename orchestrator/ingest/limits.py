"""Bounds at the door: body size (while streaming), encoding, JSON validity, nesting, alert count.

Each refusal is a :class:`RejectionError` with an HTTP status and a message that says what was wrong
and never echoes the body.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

_MAX_INT_DIGITS = 30
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class RejectionError(Exception):
    """A request refused with a 4xx or 5xx status, a short code and a human-readable message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        problems: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.problems = problems or []
        self.headers = dict(headers or {})
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.problems:
            out["problems"] = self.problems
        return out


def too_large(limit: int) -> RejectionError:
    return RejectionError(413, "body_too_large", f"request body is larger than {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked (or
    lying) body is counted while it streams and refused the moment it passes the limit, so at most
    ``limit`` bytes plus one chunk are ever held.
    """
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise RejectionError(
            415, "unsupported_encoding", "compressed bodies (Content-Encoding) are not accepted"
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise RejectionError(400, "bad_request", "Content-Length is not a number") from None
        if length > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(f"integer with {len(text)} digits is out of range")
    return int(text)


def nesting_depth(value: Any, limit: int) -> int:
    """Depth of nested arrays/objects (a scalar is 0), counted iteratively up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def decode_json(body: bytes, max_depth: int) -> Any:
    """Strict UTF-8 and strict JSON (no NaN/Infinity, no overflowing numbers), nesting bounded."""
    if not body.strip():
        raise RejectionError(
            400, "invalid_json", "request body is empty; a JSON document is expected"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectionError(
            400, "invalid_utf8", f"request body is not valid UTF-8 (byte offset {exc.start})"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int
        )
    except RecursionError:
        raise _too_deep(max_depth) from None
    except json.JSONDecodeError as exc:
        raise RejectionError(
            400,
            "invalid_json",
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    except ValueError as exc:
        raise RejectionError(
            400, "invalid_json", f"request body is not valid JSON: {exc}"
        ) from None
    if nesting_depth(value, max_depth) > max_depth:
        raise _too_deep(max_depth)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise RejectionError(
            400,
            "invalid_json",
            "request body is not valid JSON: a \\u escape is an unpaired surrogate",
        )
    return value


def _has_lone_surrogate(value: Any) -> bool:
    """True if any string (key or value) holds half a surrogate pair, which is not Unicode text."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _too_deep(limit: int) -> RejectionError:
    return RejectionError(400, "too_deep", f"JSON nesting is deeper than {limit} levels")


def check_alert_count(count: int, limit: int) -> None:
    if count > limit:
        raise RejectionError(
            413,
            "too_many_alerts",
            f"payload carries {count} alerts; at most {limit} are accepted per request"
            " (set max_alerts on the sender so it truncates, and counts, the rest)",
        )
