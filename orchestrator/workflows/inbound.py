"""Signals as they arrive: decoded inside the handler, so one that is not a breach signal is
recorded and ignored instead of being dropped unseen (the SDK drops a signal whose payload does
not convert to the handler's type, with only a worker log line)."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from orchestrator.audit.model import AuditKind
    from orchestrator.domain.signals import BreachSignal
    from orchestrator.workflows.auditing import Auditor

PATCH_BAD_SIGNALS = "bad-signals-recorded"
MAX_PROBLEM = 300


def decode_breach(raw: RawValue) -> BreachSignal | str:
    """The signal, or what is wrong with it (field locations and messages, never its values)."""
    try:
        signal = workflow.payload_converter().from_payload(raw.payload, BreachSignal)
    except pydantic.ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'signal'}: {e['msg']}"
            for e in exc.errors(include_input=False)[:3]
        ]
        return "; ".join(problems)[:MAX_PROBLEM]
    except Exception as exc:  # not JSON, not an object: whatever the converter says
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:MAX_PROBLEM]
    if not isinstance(signal, BreachSignal):
        return f"not a breach signal ({type(signal).__name__})"
    return signal


def record_bad_signal(auditor: Auditor, problem: str) -> None:
    auditor.record(
        AuditKind.NOTE,
        f"a signal that is not a breach signal was ignored: {problem}",
        {"problem": problem},
    )
