"""genops.check_policy: the decision for an upcoming call, ahead of it, reserving nothing."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops.audit import open_sink
from genops.policy import Engine
from genops.policy.base import Admission, Settlement, UnitRequest
from genops.usage import Usage
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]
EMAIL = "write to jane.doe@example.com today"


def estimate(tokens_in: int = 100, tokens_out: int = 100) -> genops.RequestEstimate:
    return genops.RequestEstimate(input_tokens=tokens_in, max_output_tokens=tokens_out)


def spend(model: str = "acme-small", tokens: int = 100) -> None:
    with genops.governed("reply", provider="openai", model=model, request=estimate()) as unit:
        unit.record_usage(input_tokens=tokens, output_tokens=tokens)


def decisions_metric(telemetry: Telemetry) -> list[dict[str, Any]]:
    return [dict(p.attributes) for p in telemetry.metrics().get(A.METRIC_POLICY_DECISIONS, [])]


def test_a_model_rule_denies_without_raising_and_without_a_span(make_genops, telemetry) -> None:
    make_genops(
        policy={"version": 1, "policies": [
            {"name": "approved", "type": "allowed_models", "models": ["acme-small"]},
        ]},
        prices=PRICES,
    )  # fmt: skip
    ok = genops.check_policy(provider="openai", model="acme-small", request=estimate())
    assert ok.proceeds and ok.decision.result is genops.DecisionResult.ALLOWED
    ok.raise_for_decision()
    no = genops.check_policy("guard", provider="openai", model="acme-large", request=estimate())
    assert not no.proceeds
    assert (no.decision.policy_name, no.decision.reason_code) == ("approved", "POLICY_DENY_MODEL")
    with pytest.raises(genops.PolicyViolationError) as err:
        no.raise_for_decision()
    assert err.value.reason_code == "POLICY_DENY_MODEL" and err.value.operation_name == "guard"
    assert telemetry.spans() == []  # a check is not a unit
    # the denial counts like a blocked unit (the call it stands in for never runs);
    # the allowed check counts nothing (its unit will count itself)
    points = decisions_metric(telemetry)
    assert len(points) == 1
    assert points[0][A.POLICY_RESULT] == "BLOCKED"
    assert points[0][A.POLICY_NAME] == "approved"
    assert points[0][A.GEN_AI_REQUEST_MODEL] == "acme-large"
    assert points[0][A.TEAM] == "platform"


def test_content_redaction_is_applied_to_the_returned_texts(make_genops, telemetry) -> None:
    make_genops(policy={"version": 1, "policies": [
        {"name": "pii", "type": "content", "detect": ["email"], "action": "redact"},
    ]})  # fmt: skip
    check = genops.check_policy(
        model="gpt-4o-mini", request=genops.RequestEstimate(texts=[EMAIL, "plain"])
    )
    assert check.proceeds and check.redacted
    assert check.decision.result is genops.DecisionResult.WARNING
    assert check.decision.reason_code == "POLICY_DENY_CONTENT"
    assert check.texts == ("write to [REDACTED:email] today", "plain")
    assert check.redact is not None and "@" not in check.redact(EMAIL)
    clean = genops.check_policy(model="gpt-4o-mini", request=genops.RequestEstimate(texts=["hi"]))
    assert not clean.redacted and clean.texts == ("hi",)


def test_content_block(make_genops, telemetry) -> None:
    make_genops(policy={"version": 1, "policies": [
        {"name": "pii", "type": "content", "detect": ["email"], "action": "block"},
    ]})  # fmt: skip
    check = genops.check_policy(model="gpt-4o-mini", request=genops.RequestEstimate(texts=[EMAIL]))
    assert check.decision.reason_code == "POLICY_DENY_CONTENT" and not check.proceeds
    assert check.redact is None and check.texts == (EMAIL,)


def test_budget_is_read_not_reserved(make_genops, telemetry) -> None:
    # acme-* costs 1000 USD per 1M tokens: 100 in + 100 out reserves 0.2 USD
    make_genops(
        policy={"version": 1, "policies": [
            {"name": "spend", "type": "budget", "limit": 0.5, "window": "daily", "per": "team"},
        ]},
        prices=PRICES,
    )  # fmt: skip
    for _ in range(5):  # five checks of 0.2 USD each against 0.5 USD: none holds anything
        check = genops.check_policy(provider="openai", model="acme-small", request=estimate())
        assert check.proceeds
    assert check.estimate.cost_usd == Decimal("0.2")
    status = genops.budget_status("spend", team="platform")
    assert (status.consumed, status.reserved) == (0, 0)
    spend()
    spend()  # 0.4 USD consumed: 0.1 left, less than the 0.2 estimate
    denied = genops.check_policy(provider="openai", model="acme-small", request=estimate())
    assert (denied.decision.result, denied.decision.reason_code) == (
        genops.DecisionResult.BLOCKED,
        "BUDGET_RESERVATION_FAILED",
    )
    small = genops.check_policy(provider="openai", model="acme-small", request=estimate(10, 10))
    assert small.proceeds  # 0.02 USD still fits
    status = genops.budget_status("spend", team="platform")
    assert status.consumed == pytest.approx(0.4) and status.reserved == 0


def test_the_estimate_is_what_the_unit_reserves(make_genops, telemetry) -> None:
    make_genops(prices=PRICES, default_max_output_tokens=300)
    req = genops.RequestEstimate(texts=["x" * 400])
    check = genops.check_policy(provider="openai", model="acme-small", request=req)
    with genops.governed("reply", provider="openai", model="acme-small", request=req):
        pass
    unit = telemetry.span("chat acme-small")
    assert check.estimate.max_output_tokens == 300
    assert float(check.estimate.cost_usd or 0) == unit.attributes[A.ACCOUNTING_RESERVED]


def test_rate_limit_counter_is_not_consumed(make_genops, telemetry) -> None:
    make_genops(
        policy={"version": 1, "policies": [
            {"name": "rate", "type": "rate_limit", "requests": 1, "window": "1h", "per": "team"},
        ]},
        prices=PRICES,
    )  # fmt: skip
    for _ in range(3):
        assert genops.check_policy(provider="openai", model="acme-small").proceeds
    spend()  # the one request of the hour
    limited = genops.check_policy(provider="openai", model="acme-small")
    assert limited.decision.result is genops.DecisionResult.RATE_LIMITED
    assert limited.decision.reason_code == "RATE_LIMITED"


def test_scope_and_named_policies(make_genops, telemetry) -> None:
    make_genops(policy={"version": 1, "policies": [
        {"name": "a", "type": "allowed_models", "models": ["m1"]},
        {"name": "b", "type": "allowed_models", "models": ["m2"],
         "scope": {"customer_id": "acme"}},
    ]})  # fmt: skip
    assert genops.check_policy(model="m1").proceeds  # b is out of scope
    with genops.attribution(customer_id="acme"):
        assert genops.check_policy(model="m1").decision.policy_name == "b"
    check = genops.check_policy(
        model="m1", attribution=genops.Attribution(customer_id="acme"), policies=frozenset({"a"})
    )
    assert check.proceeds
    assert check.request.attribution.customer_id == "acme"


def test_a_denial_is_audited_an_allowance_is_not(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry, tmp_path: Path
) -> None:
    url = f"jsonl:///{tmp_path / 'audit.jsonl'}"
    make_genops(policy={
        "version": 1, "audit": {"sink": url},
        "policies": [{"name": "approved", "type": "allowed_models", "models": ["acme-small"]}],
    })  # fmt: skip
    genops.check_policy("guard", provider="openai", model="acme-small")
    genops.check_policy("guard", provider="openai", model="acme-large")
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    engine.audit.flush()
    records = open_sink(url).query(limit=10)
    assert [(r["operation_name"], r["model"], r["policy"], r["result"]) for r in records] == [
        ("guard", "acme-large", "approved", "BLOCKED")
    ]


class CountingEngine:
    """A user's own PolicyEngine (only the protocol: admit / settle / release)."""

    def __init__(self) -> None:
        self.admitted = 0
        self.released = 0

    def admit(self, request: UnitRequest) -> Admission:
        self.admitted += 1
        if request.model == "no":
            return Admission(
                decision=genops.PolicyDecision(genops.DecisionResult.BLOCKED, "x_mine")
            )
        return Admission(handle=object())

    def settle(
        self, admission: Admission, *, cost_usd: Decimal | None, usage: Usage | None
    ) -> Settlement:
        raise AssertionError("a check never settles")

    def release(self, admission: Admission) -> None:
        self.released += 1


def test_an_engine_without_check_is_admitted_then_released(make_genops, telemetry) -> None:
    engine = CountingEngine()
    make_genops(policy=engine)
    assert genops.check_policy(model="yes").proceeds
    assert genops.check_policy(model="no").decision.reason_code == "x_mine"
    assert (engine.admitted, engine.released) == (2, 2)


def test_a_broken_rule_does_not_break_the_check(make_genops, telemetry) -> None:
    make_genops()

    def broken(request: UnitRequest) -> bool:
        raise RuntimeError("bug")

    genops.register_policy("broken", broken)
    with pytest.raises(RuntimeError):  # re-raised under tests; logged and counted in apps
        genops.check_policy(model="gpt-4o-mini")
