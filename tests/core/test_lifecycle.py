"""The governed-unit lifecycle, asserted on exported spans (GenOps spec v0.1 + GenAI semconv)."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import genops
from genops import _safety
from genops import attributes as A
from genops.decision import DecisionResult, PolicyDecision
from tests.spec import assert_compliant


def test_allowed_unit_carries_every_required_attribute_and_event(telemetry, runtime):
    estimate = genops.RequestEstimate(input_tokens=1000, max_output_tokens=500)
    with genops.governed(
        "support-reply", provider="openai", model="gpt-4o-mini", request=estimate
    ) as unit:
        unit.record_usage(input_tokens=1000, output_tokens=200, cache_read_tokens=400)
        unit.set_response(model="gpt-4o-mini-2024-07-18", response_id="r1", finish_reasons=["stop"])

    span = telemetry.span("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    assert_compliant(span)
    attrs = dict(span.attributes)
    # pop every expected attribute; nothing unexpected may remain
    reserved = attrs.pop(A.ACCOUNTING_RESERVED)
    actual = attrs.pop(A.ACCOUNTING_ACTUAL)
    # reservation = 1000 in × $0.15/M + 500 out × $0.60/M
    assert reserved == pytest.approx(0.00045)
    # actual = 600 uncached × 0.15 + 400 cached × 0.075 + 200 × 0.60 (per M)
    assert actual == pytest.approx(0.00024)
    assert attrs.pop(A.ACCOUNTING_RECONCILIATION_DELTA) == pytest.approx(actual - reserved)
    assert attrs.pop(A.COST_TOTAL) == pytest.approx(0.00024)
    assert isinstance(attrs.pop(A.POLICY_TIMESTAMP), int)
    assert attrs.pop(A.COST_PRICE_VERSION)
    expected = {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_REQUEST_MAX_TOKENS: 500,
        A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        A.GEN_AI_RESPONSE_ID: "r1",
        A.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
        A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 400,
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.OPERATION_NAME: "support-reply",
        A.OPERATION_TYPE: "inference",
        A.ACCOUNTING_UNIT: "USD",
        A.POLICY_RESULT: "ALLOWED",
        A.POLICY_EVALUATED_COUNT: 0,
        A.SPEC_VERSION: "0.1.0",
        A.TOKENS_INPUT: 1000,
        A.TOKENS_OUTPUT: 200,
        A.TOKENS_TOTAL: 1200,
        A.COST_CURRENCY: "USD",
        A.COST_PROVIDER: "openai",
        A.COST_MODEL: "gpt-4o-mini-2024-07-18",
        A.COST_PRICE_SOURCE: "genai-prices",
    }
    for key, value in expected.items():
        assert attrs.pop(key) == value, key
    assert attrs == {}, f"unexpected attributes: {attrs}"
    assert [e.name for e in span.events] == [
        A.EVENT_POLICY_EVALUATED,
        A.EVENT_BUDGET_RESERVATION,
        A.EVENT_BUDGET_RECONCILIATION,
    ]
    assert span.status.status_code is StatusCode.UNSET


def test_warned_unit_runs_and_records_the_warning(telemetry, runtime):
    genops.register_policy(
        "no-big-models",
        lambda r: r.model != "gpt-4o",
        reason_code="POLICY_DENY_MODEL",
        enforcement="WARNING",
        reason="gpt-4o is not approved",
    )
    ran = False
    with genops.governed("draft", provider="openai", model="gpt-4o") as unit:
        ran = True
        unit.record_usage(input_tokens=10, output_tokens=5)
    assert ran
    span = telemetry.span("chat gpt-4o")
    assert_compliant(span)
    assert span.attributes[A.POLICY_RESULT] == "WARNING"
    assert span.attributes[A.POLICY_REASON_CODE] == "POLICY_DENY_MODEL"
    assert span.attributes[A.POLICY_NAME] == "no-big-models"
    evaluated = [e for e in span.events if e.name == A.EVENT_POLICY_EVALUATED]
    assert [dict(e.attributes) for e in evaluated] == [
        {
            A.POLICY_RESULT: "WARNING",
            A.POLICY_REASON_CODE: "POLICY_DENY_MODEL",
            A.POLICY_NAME: "no-big-models",
            A.POLICY_REASON: "gpt-4o is not approved",
        }
    ]


def test_blocked_unit_raises_before_the_body_and_emits_only_the_decision(telemetry, runtime):
    genops.register_policy(
        "approved-models", lambda r: r.model == "gpt-4o-mini", reason_code="POLICY_DENY_MODEL"
    )
    body_ran = False
    with pytest.raises(genops.PolicyViolationError) as info:
        with genops.governed("draft", provider="openai", model="gpt-4o"):
            body_ran = True
    assert not body_ran
    err = info.value
    assert err.result is DecisionResult.BLOCKED
    assert err.reason_code == "POLICY_DENY_MODEL"
    assert err.policy_name == "approved-models"
    span = telemetry.span("chat gpt-4o")
    assert_compliant(span)
    assert [e.name for e in span.events] == [A.EVENT_POLICY_EVALUATED]
    assert A.ACCOUNTING_RESERVED not in span.attributes
    assert span.attributes[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert span.status.status_code is StatusCode.ERROR
    decisions = telemetry.metrics()[A.METRIC_POLICY_DECISIONS]
    assert [(p.attributes[A.POLICY_RESULT], p.value) for p in decisions] == [("BLOCKED", 1)]


def test_most_severe_decision_wins_and_every_objection_is_an_event(telemetry, runtime):
    genops.register_policy("warn-all", lambda r: False, reason_code="x_warn", enforcement="WARNING")
    genops.register_policy("allow-all", lambda r: True)
    genops.register_policy(
        "rate", lambda r: PolicyDecision(DecisionResult.RATE_LIMITED, "RATE_LIMITED")
    )
    with pytest.raises(genops.PolicyViolationError) as info:
        with genops.governed("op", provider="openai", model="gpt-4o-mini"):
            pass
    assert info.value.result is DecisionResult.RATE_LIMITED
    span = telemetry.span("chat gpt-4o-mini")
    assert_compliant(span)
    results = [(e.attributes[A.POLICY_RESULT], e.attributes[A.POLICY_NAME]) for e in span.events]
    assert results == [("WARNING", "warn-all"), ("RATE_LIMITED", "rate")]
    assert span.attributes[A.POLICY_RESULT] == "RATE_LIMITED"
    assert span.attributes[A.POLICY_NAME] == "rate"
    # every evaluated policy is named on the span, the ones that allowed included
    assert span.attributes[A.POLICY_EVALUATED_NAMES] == ("warn-all", "allow-all", "rate")
    assert span.attributes[A.POLICY_EVALUATED_COUNT] == 3


def test_a_unit_no_policy_objected_to_has_one_allowed_decision_event(telemetry, runtime):
    genops.register_policy("allow-a", lambda r: True)
    genops.register_policy("allow-b", lambda r: True)
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1, output_tokens=1)
    span = telemetry.span("chat gpt-4o-mini")
    assert_compliant(span)
    evaluated = [dict(e.attributes) for e in span.events if e.name == A.EVENT_POLICY_EVALUATED]
    assert evaluated == [{A.POLICY_RESULT: "ALLOWED"}]
    assert span.attributes[A.POLICY_EVALUATED_NAMES] == ("allow-a", "allow-b")


def test_missing_attribution_is_a_warning_never_an_empty_attribute(telemetry, make_genops):
    make_genops(team=None, project=None)
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1, output_tokens=1)
    span = telemetry.span("chat gpt-4o-mini")
    assert_compliant(span)
    assert span.attributes[A.TEAM] == "unattributed"
    assert span.attributes[A.PROJECT] == "unattributed"
    assert span.attributes[A.POLICY_RESULT] == "WARNING"
    assert span.attributes[A.POLICY_REASON_CODE] == "x_attribution_missing"


def test_unit_nests_under_the_users_span_and_inner_spans_nest_under_it(telemetry, runtime):
    with telemetry.tracer.start_as_current_span("http request") as outer:
        with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
            with telemetry.tracer.start_as_current_span("inner"):
                pass
            unit.record_usage(input_tokens=3, output_tokens=4)
    unit_span = telemetry.span("chat gpt-4o-mini")
    inner = telemetry.span("inner")
    assert unit_span.parent.span_id == outer.get_span_context().span_id
    assert inner.parent.span_id == unit_span.context.span_id
    assert unit_span.context.trace_id == outer.get_span_context().trace_id


def test_provider_error_ends_the_unit_with_error_type_and_reraises_unchanged(telemetry, runtime):
    class RateLimitError(Exception):
        pass

    original = RateLimitError("429 slow down")
    with pytest.raises(RateLimitError) as info:
        with genops.governed("op", provider="openai", model="gpt-4o-mini"):
            raise original
    assert info.value is original
    span = telemetry.span("chat gpt-4o-mini")
    assert_compliant(span)
    assert span.attributes[A.ERROR_TYPE].endswith("RateLimitError")
    assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events][-1] == "exception"


def test_missing_usage_is_flagged_incomplete_not_silently_zero(telemetry, runtime):
    with genops.governed("op", provider="openai", model="gpt-4o-mini"):
        pass
    span = telemetry.span("chat gpt-4o-mini")
    assert_compliant(span)
    assert span.attributes[A.ACCOUNTING_INCOMPLETE] is True
    assert span.attributes[A.ACCOUNTING_ACTUAL] == span.attributes[A.ACCOUNTING_RESERVED]
    assert A.COST_TOTAL not in span.attributes


def test_unknown_model_records_tokens_and_unknown_cost_never_zero(telemetry, runtime):
    estimate = genops.RequestEstimate(input_tokens=100, max_output_tokens=50)
    with genops.governed("op", provider="acme-ai", model="acme-9000", request=estimate) as unit:
        unit.record_usage(input_tokens=120, output_tokens=30)
    span = telemetry.span("chat acme-9000")
    assert_compliant(span)
    attrs = span.attributes
    assert attrs[A.COST_UNKNOWN] is True
    assert A.COST_TOTAL not in attrs
    # accounting falls back to tokens, with a meaningful value
    assert attrs[A.ACCOUNTING_UNIT] == "tokens"
    assert attrs[A.ACCOUNTING_RESERVED] == 150.0
    assert attrs[A.ACCOUNTING_ACTUAL] == 150.0
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 120
    metrics = telemetry.metrics()
    assert A.METRIC_COST not in metrics
    [unknown] = metrics[A.METRIC_COST_UNKNOWN]
    assert unknown.value == 1
    assert unknown.attributes[A.GEN_AI_REQUEST_MODEL] == "acme-9000"


def test_finish_runs_exactly_once(telemetry, runtime):
    unit = genops.governed("op", provider="openai", model="gpt-4o-mini").start()
    unit.record_usage(input_tokens=1, output_tokens=1)
    unit.finish()
    unit.finish()
    unit.finish(RuntimeError("late"))
    [span] = telemetry.spans()
    assert [e.name for e in span.events].count(A.EVENT_BUDGET_RECONCILIATION) == 1
    assert span.status.status_code is StatusCode.UNSET


def test_covering_unit_marks_the_single_cost_owner(telemetry, runtime):
    assert genops.covering_unit() is None
    with genops.governed("outer", provider="openai", model="gpt-4o-mini") as unit:
        assert genops.covering_unit() is unit
        # an SDK layer underneath adds its call instead of opening a second cost span
        genops.covering_unit().add_provider_call(
            genops.Usage(input_tokens=10, output_tokens=10), model="gpt-4o-mini"
        )
        genops.covering_unit().add_provider_call(
            genops.Usage(input_tokens=10, output_tokens=10),
            provider="anthropic",
            model="claude-3-5-haiku-latest",
        )
    assert genops.covering_unit() is None
    [span] = telemetry.spans()
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 20
    # priced per call: gpt-4o-mini 10×0.15+10×0.6, claude-3.5-haiku 10×0.8+10×4 (per M)
    assert span.attributes[A.COST_TOTAL] == pytest.approx((1.5 + 6 + 8 + 40) / 1e6)


def test_unit_without_model_rolls_up_the_units_inside_it(telemetry, runtime):
    with genops.governed("answer-ticket", "workflow") as workflow:
        assert genops.covering_unit() is None  # not a cost owner
        for _ in range(2):
            with genops.governed("step", provider="openai", model="gpt-4o-mini") as unit:
                unit.record_usage(input_tokens=1000, output_tokens=100)
    wf = telemetry.span("invoke_workflow")
    assert_compliant(wf)
    assert wf.kind is SpanKind.INTERNAL
    assert wf.attributes[A.ROLLUP_UNITS] == 2
    assert wf.attributes[A.ROLLUP_TOKENS_INPUT] == 2000
    assert wf.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(2 * (150 + 60) / 1e6)
    # the workflow's own accounting does not double count its children
    assert wf.attributes[A.ACCOUNTING_ACTUAL] == 0.0
    assert workflow.rollup is not None
    children = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"]
    assert all(c.parent.span_id == wf.context.span_id for c in children)


def test_rollup_span_sums_units_and_reports_unknown_cost(telemetry, runtime):
    with genops.rollup_span("invoke_agent triage") as agent:
        with genops.governed("a", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=100, output_tokens=10)
        with genops.governed("b", provider="acme", model="unknown-model") as unit:
            unit.record_usage(input_tokens=5, output_tokens=5)
    span = telemetry.span("invoke_agent triage")
    assert span.context.span_id == agent.get_span_context().span_id
    assert span.attributes[A.ROLLUP_UNITS] == 2
    assert span.attributes[A.ROLLUP_COST_UNKNOWN_UNITS] == 1
    assert span.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx((15 + 6) / 1e6)
    assert span.attributes[A.ROLLUP_TOKENS_TOTAL] == 120


def test_content_is_not_recorded_unless_opted_in(telemetry, make_genops):
    make_genops()
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_content(input_messages=[{"role": "user", "content": "secret"}])
        unit.record_usage(input_tokens=1, output_tokens=1)
    assert A.GEN_AI_INPUT_MESSAGES not in telemetry.span("chat gpt-4o-mini").attributes


def test_content_is_recorded_when_opted_in_via_the_standard_env_var(
    telemetry, make_genops, monkeypatch
):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    make_genops()
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_content(
            input_messages=[{"role": "user", "content": "hi"}],
            output_messages=[{"role": "assistant", "content": "hello"}],
        )
        unit.record_usage(input_tokens=1, output_tokens=1)
    attrs = telemetry.span("chat gpt-4o-mini").attributes
    assert attrs[A.GEN_AI_INPUT_MESSAGES] == '[{"role": "user", "content": "hi"}]'
    assert attrs[A.GEN_AI_OUTPUT_MESSAGES] == '[{"role": "assistant", "content": "hello"}]'


async def test_async_context_manager(telemetry, runtime):
    async with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        await asyncio.sleep(0)
        unit.record_usage(input_tokens=2, output_tokens=2)
    assert_compliant(telemetry.span("chat gpt-4o-mini"))


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"operation_name": ""}, ValueError, "operation_name"),
        ({"operation_name": "x", "operation_type": "nope"}, ValueError, "operation_type"),
        ({"operation_name": "x", "model": 3}, TypeError, "model"),
        ({"operation_name": "x", "provider": 3}, TypeError, "provider"),
        ({"operation_name": "x", "request": {"input_tokens": 3}}, TypeError, "request"),
    ],
)
def test_invalid_arguments_name_the_argument(runtime, kwargs, error, names):
    with pytest.raises(error, match=names):
        genops.governed(**kwargs)


def test_request_estimate_validates_and_estimates_from_text():
    with pytest.raises(ValueError, match="max_output_tokens"):
        genops.RequestEstimate(max_output_tokens=-1)
    est = genops.RequestEstimate(texts=["x" * 400])
    assert est.input_token_estimate() == 404  # the reservation's bound: bytes + 4 a text
    assert est.typical_input_tokens() == 104  # 4 characters a token (unreported usage)


def test_internal_errors_are_swallowed_in_production_and_counted(telemetry, runtime):
    class Broken:
        name = "broken"
        enforcement = genops.Enforcement.BLOCKED

        def evaluate(self, request):
            raise RuntimeError("bug in a rule")

    genops.register_policy(Broken())
    with _safety.raise_internal_errors(False):
        with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=1, output_tokens=1)
    span = telemetry.span("chat gpt-4o-mini")
    assert span.attributes[A.POLICY_RESULT] == "ALLOWED"
    [point] = telemetry.metrics()[A.METRIC_INTERNAL_ERRORS]
    assert point.value == 1
    assert "broken" in point.attributes[A.ERROR_PLACE]


def test_internal_errors_surface_under_tests(runtime):
    class Broken:
        name = "broken"
        enforcement = genops.Enforcement.BLOCKED

        def evaluate(self, request):
            raise RuntimeError("bug in a rule")

    genops.register_policy(Broken())
    with pytest.raises(RuntimeError, match="bug in a rule"):
        with genops.governed("op", provider="openai", model="gpt-4o-mini"):
            pass


def test_cached_start_attributes_keep_each_units_own_values(telemetry, runtime):
    """Unit start attributes are cached per key: equal-comparing values of other types
    (True / 1 / 1.0) and unhashable ones (a list) still reach each span as given."""
    for value in (True, 1, 1.0, [1, 2], True):
        with genops.governed("reply", model="gpt-4o-mini", attributes={"app.flag": value}):
            pass
    seen = [s.attributes["app.flag"] for s in telemetry.spans()]
    assert [(type(v), v) for v in seen] == [
        (bool, True), (int, 1), (float, 1.0), (tuple, (1, 2)), (bool, True),
    ]  # fmt: skip
