"""SLA boundaries (GenOps spec §6): per unit, per request, per policy rule; asserted on
exported spans, metrics and the audit trail. Latencies are made real with short sleeps
against targets far from them (1 ms missed by a 15 ms sleep, 10 minutes always met)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops.policy import Engine, ManualClock, PolicyConfigError
from genops.policy.loader import load
from genops.policy.slo import SlaPolicy
from tests.conftest import Telemetry

MET = 600_000  # ms: no unit of these tests takes 10 minutes
SLOW = 0.015  # s: over a 1 ms target, whatever the machine


def call(model: str = "gpt-4o-mini", *, sleep: float = 0.0, **kwargs: Any) -> None:
    with genops.governed("reply", provider="openai", model=model, **kwargs) as unit:
        if sleep:
            time.sleep(sleep)
        unit.record_usage(input_tokens=100, output_tokens=20)


def sla_attrs(span: Any) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith("genops.sla.")}


def decisions_after_reconciliation(span: Any) -> list[dict[str, Any]]:
    names = [e.name for e in span.events]
    after = names.index(A.EVENT_BUDGET_RECONCILIATION)
    return [dict(e.attributes) for e in span.events[after:] if e.name == A.EVENT_POLICY_EVALUATED]


def points(telemetry: Telemetry, metric: str) -> list[Any]:
    return telemetry.metrics().get(metric, [])


def test_a_unit_that_meets_its_sla_carries_all_four_attributes(telemetry, runtime):
    call(sla=genops.SLA("premium", latency_target_ms=MET))
    span = telemetry.span("chat gpt-4o-mini")
    attrs = sla_attrs(span)
    actual = attrs.pop(A.SLA_ACTUAL_LATENCY_MS)
    assert isinstance(actual, int) and 0 <= actual < MET
    assert attrs == {
        A.SLA_TIER: "premium",
        A.SLA_LATENCY_TARGET_MS: MET,
        A.SLA_MET: True,
        A.SLA_SOURCE: "unit",
    }
    assert decisions_after_reconciliation(span) == []
    [latency] = points(telemetry, A.METRIC_SLA_LATENCY)
    assert latency.attributes[A.SLA_TIER] == "premium"
    assert latency.attributes[A.TEAM] == "platform"
    assert latency.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert latency.count == 1
    [units] = points(telemetry, A.METRIC_SLA_UNITS)
    assert (units.attributes[A.SLA_MET], units.value) == ("true", 1)


def test_a_missed_sla_is_a_separate_warning_decision_after_the_call(
    telemetry, make_genops, tmp_path
):
    sink = tmp_path / "audit.jsonl"
    make_genops(policy={"version": 1, "audit": {"sink": f"jsonl:///{sink}"}})
    call(sleep=SLOW, sla=genops.SLA("fast", latency_target_ms=1))
    span = telemetry.span("chat gpt-4o-mini")
    attrs = sla_attrs(span)
    assert attrs[A.SLA_MET] is False
    assert attrs[A.SLA_ACTUAL_LATENCY_MS] >= 15
    # the decision made before execution is immutable (spec §4.3) ...
    assert span.attributes[A.POLICY_RESULT] == "ALLOWED"
    assert A.POLICY_REASON_CODE not in span.attributes
    # ... the miss is its own decision event, after the reconciliation
    [miss] = decisions_after_reconciliation(span)
    assert miss[A.POLICY_RESULT] == "WARNING"
    assert miss[A.POLICY_REASON_CODE] == "SLA_LATENCY_VIOLATION"
    assert miss[A.POLICY_NAME] == "genops.sla"
    assert "over the fast SLA target 1 ms" in miss[A.POLICY_REASON]
    decisions = {
        (p.attributes[A.POLICY_RESULT], p.attributes.get(A.POLICY_REASON_CODE)): p.value
        for p in points(telemetry, A.METRIC_POLICY_DECISIONS)
    }
    assert decisions == {("ALLOWED", None): 1, ("WARNING", "SLA_LATENCY_VIOLATION"): 1}
    [units] = points(telemetry, A.METRIC_SLA_UNITS)
    assert units.attributes[A.SLA_MET] == "false"
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    engine.audit.flush()
    records = [json.loads(line) for line in sink.read_text().splitlines()]
    [audited] = [r for r in records if r["reason_code"] == "SLA_LATENCY_VIOLATION"]
    assert audited["result"] == "WARNING"
    assert audited["unit_result"] == "ALLOWED"
    assert audited["span_id"] == format(span.context.span_id, "016x")
    assert audited["team"] == "platform"


def test_sla_boundary_covers_every_unit_of_a_request_and_a_unit_sla_wins(telemetry, runtime):
    with genops.sla_boundary(tier="gold", latency_target_ms=MET) as sla:
        assert genops.current_sla() is sla
        call("gpt-4o-mini")
        call("gpt-4o", sla=genops.SLA("bronze", latency_target_ms=MET))
    assert genops.current_sla() is None
    call("gpt-4.1-mini")
    tiers = {
        s.name: (s.attributes.get(A.SLA_TIER), s.attributes.get(A.SLA_SOURCE))
        for s in telemetry.spans()
    }
    assert tiers == {
        "chat gpt-4o-mini": ("gold", "context"),
        "chat gpt-4o": ("bronze", "unit"),
        "chat gpt-4.1-mini": (None, None),
    }
    assert sla_attrs(telemetry.span("chat gpt-4.1-mini")) == {}  # none of the four


async def test_sla_boundary_is_per_task(telemetry, runtime):
    async def request(tier: str, model: str) -> None:
        with genops.sla_boundary(tier=tier, latency_target_ms=MET):
            await asyncio.sleep(0)
            async with genops.governed("reply", provider="openai", model=model) as unit:
                await asyncio.sleep(0)
                unit.record_usage(input_tokens=1, output_tokens=1)

    await asyncio.gather(request("gold", "gpt-4o"), request("silver", "gpt-4o-mini"))
    assert telemetry.span("chat gpt-4o").attributes[A.SLA_TIER] == "gold"
    assert telemetry.span("chat gpt-4o-mini").attributes[A.SLA_TIER] == "silver"


def sla_policy(**rule: Any) -> dict[str, Any]:
    return {"version": 1, "policies": [{"name": "support-sla", "type": "sla", **rule}]}


def test_an_sla_rule_applies_to_its_scope_only(telemetry, make_genops):
    make_genops(
        policy=sla_policy(tier="standard", latency_target_ms=1, scope={"model": "gpt-4o-mini"})
    )
    call("gpt-4o-mini", sleep=SLOW)
    call("gpt-4o")
    in_scope = telemetry.span("chat gpt-4o-mini")
    assert in_scope.attributes[A.SLA_TIER] == "standard"
    assert in_scope.attributes[A.SLA_SOURCE] == "policy"
    [miss] = decisions_after_reconciliation(in_scope)
    assert (miss[A.POLICY_NAME], miss[A.POLICY_RESULT]) == ("support-sla", "WARNING")
    # a WARNING-enforced SLA rule decides nothing before execution
    before = in_scope.events[: [e.name for e in in_scope.events].index(A.EVENT_BUDGET_RESERVATION)]
    assert [dict(e.attributes) for e in before] == [{A.POLICY_RESULT: "ALLOWED"}]
    assert sla_attrs(telemetry.span("chat gpt-4o")) == {}


def test_blocked_enforcement_blocks_the_next_calls_while_recent_p95_is_over_target(
    telemetry, make_genops
):
    make_genops(
        policy=sla_policy(
            tier="interactive",
            latency_target_ms=1,
            enforcement="BLOCKED",
            min_samples=2,
            window="1h",
            per=["model"],
        )
    )
    call("gpt-4o-mini", sleep=SLOW)  # slow calls that already ran are never blocked:
    call("gpt-4o-mini", sleep=SLOW)  # they are WARNING decisions after the fact
    body_ran = False
    with pytest.raises(genops.PolicyViolationError) as info:
        with genops.governed("reply", provider="openai", model="gpt-4o-mini"):
            body_ran = True
    assert not body_ran
    assert info.value.reason_code == "SLA_LATENCY_VIOLATION"
    assert info.value.policy_name == "support-sla"
    assert "recent p95 latency" in (info.value.reason or "")
    call("gpt-4o")  # its own key (per: model): not blocked
    spans = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"]
    assert [s.attributes[A.POLICY_RESULT] for s in spans] == ["ALLOWED", "ALLOWED", "BLOCKED"]
    assert sla_attrs(spans[2]) == {}  # blocked before execution: no latency to report
    assert telemetry.span("chat gpt-4o").attributes[A.POLICY_RESULT] == "ALLOWED"


def test_a_blocked_key_recovers_when_its_slow_samples_age_out(telemetry, runtime):
    clock = ManualClock(1_000.0)
    rule = SlaPolicy(
        "fast-path",
        "interactive",
        1,
        enforcement="BLOCKED",
        window="10m",
        min_samples=1,
        clock=clock,
    )
    genops.register_policy(rule)
    call(sleep=SLOW)
    with pytest.raises(genops.PolicyViolationError):
        call()
    clock.advance(601)
    call()  # the window is empty again: calls flow, and the p95 is re-learned
    results = [s.attributes[A.POLICY_RESULT] for s in telemetry.spans()]
    assert results == ["ALLOWED", "BLOCKED", "ALLOWED"]


def test_units_without_an_sla_pay_for_nothing(telemetry, runtime):
    with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1, output_tokens=1)
    assert unit.sla is None
    assert sla_attrs(telemetry.span("chat gpt-4o-mini")) == {}
    assert A.METRIC_SLA_LATENCY not in telemetry.metrics()


def test_sla_rule_validation_and_default_enforcement(tmp_path: Path):
    doc = sla_policy(tier="gold", latency_target_ms=2000)
    doc["defaults"] = {"enforcement": "BLOCKED"}
    [rule] = load(doc).policies
    assert isinstance(rule, SlaPolicy)
    assert rule.enforcement.value == "WARNING"  # defaults.enforcement is not for SLAs
    assert (rule.sla.tier, rule.sla.latency_target_ms, rule.percentile) == ("gold", 2000, 95.0)
    for bad, field in (
        ({"tier": "gold", "latency_target_ms": 0}, "latency_target_ms"),
        ({"tier": "", "latency_target_ms": 10}, "tier"),
        ({"tier": "gold", "latency_target_ms": 10, "percentile": 101}, "percentile"),
        ({"tier": "gold", "latency_target_ms": 10, "latency": 3}, "latency"),
    ):
        with pytest.raises(PolicyConfigError) as info:
            load(sla_policy(**bad))
        assert info.value.field == field, info.value


def test_sla_values_are_validated():
    with pytest.raises(ValueError):
        genops.SLA("gold", latency_target_ms=0)
    with pytest.raises(ValueError):
        genops.SLA("gold", latency_target_ms=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        genops.SLA(" ", latency_target_ms=10)
    with pytest.raises(TypeError):
        genops.governed("x", sla={"tier": "gold"})  # type: ignore[arg-type]


def test_conformance_check_rejects_a_partial_or_inconsistent_sla(
    make_genops: Callable[..., genops.GenOps],
):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.spec import assert_compliant

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    make_genops()
    genops.init(tracer_provider=provider, instrument=False, team="t", project="p")
    for extra in (
        {A.SLA_TIER: "gold", A.SLA_LATENCY_TARGET_MS: 10},  # two of four
        {
            A.SLA_TIER: "gold",
            A.SLA_LATENCY_TARGET_MS: 10,
            A.SLA_ACTUAL_LATENCY_MS: 50,
            A.SLA_MET: True,  # 50 > 10
        },
    ):
        exporter.clear()
        with genops.governed("op", provider="openai", model="gpt-4o-mini", attributes=extra) as u:
            u.record_usage(input_tokens=1, output_tokens=1)
        [span] = exporter.get_finished_spans()
        with pytest.raises(AssertionError, match=r"genops\.sla"):
            assert_compliant(span)
