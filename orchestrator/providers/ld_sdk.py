"""Flag evaluation through the real LaunchDarkly server SDK (``ldclient``).

The SDK client is synchronous and thread-based; :meth:`SdkFlagEvaluator.evaluate` runs it in a
worker thread. Two sources: the SDK's own file data source over the local flag store's SDK file
(:meth:`SdkFlagEvaluator.for_file`), or LaunchDarkly itself, streaming or polling
(:meth:`SdkFlagEvaluator.for_launchdarkly`). Polling intervals shorter than 30 s are raised to 30 s
by the SDK (``Config`` clamps ``poll_interval``); streaming is what sees changes within seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ldclient.client import LDClient
from ldclient.config import Config
from ldclient.context import Context
from ldclient.integrations import Files

from orchestrator.domain.flags import EvalContext, Evaluation
from orchestrator.errors import FlagProviderError, ValidationError, VerificationError
from orchestrator.providers.flags import FlagEvaluator
from orchestrator.secrets import Secret, redact_text

_FILE_SDK_KEY = "sdk-key-unused-by-the-file-data-source"
_RESERVED = frozenset({"key", "kind", "_meta"})


class SdkFlagEvaluator:
    """A :class:`~orchestrator.providers.flags.FlagEvaluator` around one ``LDClient``."""

    def __init__(self, client: LDClient, *, source: str) -> None:
        """Take ownership of an ``LDClient`` that was built with a ``start_wait``.

        Raises FlagProviderError (and closes the client) when it has not initialized.
        """
        self._client = client
        self._source = source
        if not client.is_initialized():
            client.close()  # type: ignore[no-untyped-call]  # ldclient leaves close() unannotated
            raise FlagProviderError(
                f"the LaunchDarkly SDK did not initialize from {source} in time", retryable=True
            )

    def __repr__(self) -> str:
        return f"SdkFlagEvaluator(source={self._source!r})"

    @classmethod
    def for_file(
        cls, sdk_path: Path, poll_interval: float = 0.2, *, start_wait: float = 5.0
    ) -> SdkFlagEvaluator:
        """Read flags from the local flag store's SDK file, re-read when its mtime changes."""
        source = Files.new_data_source(
            paths=[str(sdk_path)],
            auto_update=True,
            force_polling=True,  # watchdog misses atomic replaces; polling by mtime does not
            poll_interval=poll_interval,
        )
        config = Config(
            sdk_key=_FILE_SDK_KEY,
            update_processor_class=source,
            send_events=False,
            diagnostic_opt_out=True,
        )
        return cls(LDClient(config=config, start_wait=start_wait), source=f"file {sdk_path}")

    @classmethod
    def for_launchdarkly(
        cls,
        sdk_key: Secret,
        *,
        base_uri: str | None = None,
        stream_uri: str | None = None,
        events_uri: str | None = None,
        stream: bool = True,
        send_events: bool = True,
        poll_interval: float = 30.0,
        start_wait: float = 5.0,
    ) -> SdkFlagEvaluator:
        """Connect to LaunchDarkly (or a relay / test double at the given URIs)."""
        uris: dict[str, Any] = {
            name: value
            for name, value in (
                ("base_uri", base_uri),
                ("stream_uri", stream_uri),
                ("events_uri", events_uri),
            )
            if value is not None
        }
        config = Config(
            sdk_key=sdk_key.reveal(),
            stream=stream,
            send_events=send_events,
            diagnostic_opt_out=not send_events,
            poll_interval=poll_interval,
            **uris,
        )
        where = stream_uri if stream else base_uri
        return cls(
            LDClient(config=config, start_wait=start_wait),
            source=redact_text(
                f"LaunchDarkly ({'streaming' if stream else 'polling'} {where or 'default'})",
                sdk_key,
            ),
        )

    async def evaluate(self, key: str, context: EvalContext) -> Evaluation:
        ld_context = to_ld_context(context)
        detail = await asyncio.to_thread(self._client.variation_detail, key, ld_context, None)
        reason: dict[str, Any] = detail.reason or {}
        return Evaluation(
            value=detail.value,
            variation_index=detail.variation_index,
            reason_kind=str(reason.get("kind", "UNKNOWN")),
            error_kind=reason.get("errorKind"),
        )

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]  # unannotated in ldclient


def to_ld_context(context: EvalContext) -> Context:
    """The SDK ``Context`` for an :class:`EvalContext`; ValidationError if LD rejects it."""
    reserved = sorted(_RESERVED & context.attributes.keys())
    if reserved:
        raise ValidationError(f"reserved context attribute names: {reserved}", "context.attributes")
    builder = Context.builder(context.key).kind(context.kind)
    for name, value in context.attributes.items():
        builder.set(name, value)
    ld_context = builder.build()
    if not ld_context.valid:
        raise ValidationError(f"invalid evaluation context: {ld_context.error}", "context")
    return ld_context


async def wait_for_variation(
    evaluator: FlagEvaluator,
    key: str,
    context: EvalContext,
    expect_value: Any,
    within_seconds: float,
    poll: float = 0.1,
) -> Evaluation:
    """Evaluate until the SDK serves ``expect_value`` to ``context``; VerificationError if not.

    The SDK sees a change only after its data source does (file poll interval, stream latency),
    so verification of a flag change polls rather than evaluating once.
    """
    deadline = time.monotonic() + within_seconds
    while True:
        evaluation = await evaluator.evaluate(key, context)
        if evaluation.value == expect_value:
            return evaluation
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(poll)
    error = f", error {evaluation.error_kind}" if evaluation.error_kind else ""
    raise VerificationError(
        f"flag {key!r} serves {evaluation.value!r} to {context.kind} context with"
        f" {context.attributes} (reason {evaluation.reason_kind}{error}) after {within_seconds}s;"
        f" expected {expect_value!r}"
    )
