"""Pure remediation policy: approvals, effects (escalation, resolution, compensation), limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.domain.actions import (
    ACTIONS,
    PinVersionArgs,
    RouteSegmentArgs,
    WaitForRecoveryArgs,
)
from orchestrator.domain.policy import ApprovalRule
from orchestrator.domain.policy_approval import (
    ApprovalDecision,
    PendingApproval,
    approval_applies,
    approvals_needed,
    fast_track_verdict,
    judge,
    verdict,
)
from orchestrator.domain.policy_effects import (
    EffectRecord,
    Undo,
    already_done,
    compensation_plan,
    effect_key,
    hold_down_remaining,
    is_escalation,
    resolution_undo_plan,
)
from orchestrator.domain.policy_limits import (
    BreakerLimit,
    SafetyLimits,
    ServiceLimits,
    breaker_verdict,
    parse_safety_limits,
)
from orchestrator.domain.severity import Severity
from orchestrator.errors import CatalogError

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def pending(
    *, two_person: bool = False, launcher: str | None = None, approvals: tuple[str, ...] = ()
) -> PendingApproval:
    return PendingApproval(
        step_id="rollback-prompt",
        playbook="fairness-language-gap",
        action="deploy.pin_version",
        args={"component": "prompt"},
        requested_at=T0,
        timeout_seconds=900,
        on_timeout="escalate",
        two_person=two_person,
        launcher=launcher,
        approvals=list(approvals),
    )


def decide(by: str, approve: bool = True, step: str | None = None) -> ApprovalDecision:
    return ApprovalDecision(approve=approve, by=by, step_id=step)


@pytest.mark.parametrize(
    ("two_person", "launcher", "approvals", "decision", "refusal", "outcome"),
    [
        # one person: anyone named may approve, the launcher too
        (False, None, (), decide("ana"), None, "granted"),
        (False, "maria", (), decide("maria"), None, "granted"),
        (False, None, (), decide("ana", approve=False), None, "denied"),
        # two-person rule, launched by a person: the launcher may not approve; another may
        (True, "maria", (), decide("maria"), "two-person rule: maria launched this", None),
        (True, "maria", (), decide("ana"), None, "granted"),
        (True, "maria", (), decide("maria", approve=False), None, "denied"),
        # two-person rule, launched by automation: two distinct approvers
        (True, None, (), decide("ana"), None, "waiting"),
        (True, None, ("ana",), decide("ana"), "ana already approved", None),
        (True, None, ("ana",), decide("ben"), None, "granted"),
        # naming
        (False, None, (), decide("  "), "say who decides", None),
        (False, None, (), decide("ana", step="freeze"), "step 'freeze' is not waiting", None),
        (False, None, (), decide("ana", step="rollback-prompt"), None, "granted"),
    ],
)
def test_approval_rules(
    two_person: bool,
    launcher: str | None,
    approvals: tuple[str, ...],
    decision: ApprovalDecision,
    refusal: str | None,
    outcome: str | None,
) -> None:
    p = pending(two_person=two_person, launcher=launcher, approvals=approvals)
    refused = judge(p, decision)
    if refusal is None:
        assert refused is None
        assert verdict(p, decision) == outcome
    else:
        assert refused is not None and refusal in refused


def test_nothing_pending_is_refused() -> None:
    assert judge(None, decide("ana")) == "no step of this incident is waiting for approval"


@pytest.mark.parametrize(
    ("two_person", "launcher", "needed"),
    [(False, None, 1), (False, "m", 1), (True, "m", 1), (True, None, 2)],
)
def test_approvals_needed(two_person: bool, launcher: str | None, needed: int) -> None:
    assert approvals_needed(two_person, launcher) == needed


def test_fast_track_grants_one_person_approvals_but_never_bypasses_two_person() -> None:
    assert fast_track_verdict(pending(), "maria") == "granted"
    assert fast_track_verdict(pending(two_person=True, launcher="maria"), "maria") == "waiting"


@pytest.mark.parametrize(
    ("when", "severity", "applies"),
    [
        (None, "SEV3", True),
        ("severity == 'SEV1'", "SEV1", True),
        ("severity == 'SEV1'", "SEV2", False),
        ("signal.nope.deeper", "SEV2", True),  # cannot evaluate: ask a person (the safe side)
    ],
)
def test_approval_applies(when: str | None, severity: str, applies: bool) -> None:
    rule = ApprovalRule(when=when, timeout_seconds=60, on_timeout="skip")
    context = {"severity": severity, "signal": {}}
    assert approval_applies(rule, context, "here") is applies
    assert approval_applies(None, context, "here") is False


ROUTE = RouteSegmentArgs(flag="f", attribute="language", values=("es",), variation="human-queue")


def record(
    step: str,
    *,
    temporary: bool = False,
    compensate: bool = True,
    undo: bool = True,
    undone: bool = False,
    key: str | None = None,
) -> EffectRecord:
    return EffectRecord(
        key=key or f"k-{step}",
        playbook="p",
        step_id=step,
        action="flag.route_segment",
        summary=step,
        temporary=temporary,
        compensate=compensate,
        undo=Undo(kind="flag_rule", target="f", ref=step) if undo else None,
        undone=undone,
    )


def test_effect_identity_ignores_step_ids_and_non_identifying_args() -> None:
    spec = ACTIONS["flag.route_segment"]
    assert effect_key(spec, ROUTE) == effect_key(spec, ROUTE.model_copy())
    other = ROUTE.model_copy(update={"variation": "retrieval-only"})
    assert effect_key(spec, ROUTE) != effect_key(spec, other)
    pin = ACTIONS["deploy.pin_version"]
    a = PinVersionArgs(component="prompt", reason="one")
    b = PinVersionArgs(component="prompt", reason="another playbook's words")
    assert effect_key(pin, a) == effect_key(pin, b)
    assert effect_key(pin, a) != effect_key(pin, PinVersionArgs(component="model"))
    wait = WaitForRecoveryArgs(timeout_seconds=5)
    assert effect_key(ACTIONS["incident.wait_for_recovery"], wait) is None


def test_already_done_finds_effects_still_in_place() -> None:
    effects = [record("a", key="x"), record("b", key="y", undone=True)]
    assert already_done(effects, "x") is effects[0]
    assert already_done(effects, "y") is None  # undone: doing it again is not a repetition
    assert already_done(effects, None) is None


def test_resolution_undoes_only_temporary_effects_newest_first() -> None:
    effects = [
        record("fallback", temporary=True),
        record("pin"),
        record("threshold", temporary=True),
        record("gone", temporary=True, undone=True),
        record("no-undo", temporary=True, undo=False),
    ]
    assert [e.step_id for e in resolution_undo_plan(effects)] == ["threshold", "fallback"]


def test_compensation_undoes_reversible_effects_newest_first_unless_opted_out() -> None:
    effects = [
        record("fallback", temporary=True),
        record("pin"),
        record("kept", compensate=False),
        record("no-undo", undo=False),
    ]
    assert [e.step_id for e in compensation_plan(effects)] == ["pin", "fallback"]


@pytest.mark.parametrize(
    ("current", "new", "escalates"),
    [
        (None, Severity.SEV4, True),
        (Severity.SEV3, Severity.SEV1, True),
        (Severity.SEV2, Severity.SEV2, False),
        (Severity.SEV1, Severity.SEV3, False),
    ],
)
def test_is_escalation(current: Severity | None, new: Severity, escalates: bool) -> None:
    assert is_escalation(current, new) is escalates


@pytest.mark.parametrize(
    ("quiet_for", "hold_down", "remaining"), [(0, 30, 30), (10, 30, 20), (45, 30, 0), (-1, 30, 30)]
)
def test_hold_down_remaining(quiet_for: float, hold_down: float, remaining: float) -> None:
    assert hold_down_remaining(quiet_for, hold_down) == remaining


HOUR = BreakerLimit(max_actions=2, window_seconds=3600)


@pytest.mark.parametrize(
    ("ages_minutes", "allowed", "count"),
    [
        ((), True, 0),
        ((10,), True, 1),
        ((10, 20), False, 2),
        ((10, 61), True, 1),  # the older one left the window
        ((61, 120), True, 0),
    ],
)
def test_breaker_verdict(ages_minutes: tuple[int, ...], allowed: bool, count: int) -> None:
    previous = [T0 - timedelta(minutes=m) for m in ages_minutes]
    result = breaker_verdict(previous, T0, HOUR, action="deploy.pin_version", service="svc")
    assert (result.allowed, result.count) == (allowed, count)
    if not allowed:
        assert "circuit breaker open" in result.detail


def test_limit_precedence() -> None:
    limits = SafetyLimits(
        default=BreakerLimit(max_actions=5, window_seconds=60),
        actions={"deploy.pin_version": BreakerLimit(max_actions=1, window_seconds=3600)},
        services={
            "svc": ServiceLimits(
                default=BreakerLimit(max_actions=9, window_seconds=10),
                actions={"release.freeze": BreakerLimit(max_actions=0, window_seconds=10)},
            )
        },
    )
    assert limits.limit_for("svc", "release.freeze").max_actions == 0
    assert limits.limit_for("svc", "deploy.pin_version").max_actions == 9
    assert limits.limit_for("other", "deploy.pin_version").max_actions == 1
    assert limits.limit_for("other", "flag.set_default").max_actions == 5
    assert limits.longest_window == 3600


def test_parse_safety_limits() -> None:
    text = (
        "circuit_breaker:\n  default: {max_actions: 4, window_seconds: 600}\n"
        "  actions: {deploy.pin_version: {max_actions: 1, window_seconds: 3600}}\n"
    )
    limits = parse_safety_limits(text, "safety.yaml")
    assert limits.limit_for("x", "deploy.pin_version").max_actions == 1
    assert parse_safety_limits("", "safety.yaml") == SafetyLimits()
    with pytest.raises(CatalogError, match="not destructive actions"):
        parse_safety_limits(
            "circuit_breaker: {actions: {page.oncall: {max_actions: 1, window_seconds: 1}}}", "s"
        )
    with pytest.raises(CatalogError, match=r"circuit_breaker.default.max_actions"):
        parse_safety_limits("circuit_breaker: {default: {max_actions: -1, window_seconds: 1}}", "s")
    with pytest.raises(CatalogError, match="unknown keys"):
        parse_safety_limits("breaker: {}", "s")
