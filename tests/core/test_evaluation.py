"""genops.record_evaluation: the genops and OTel evaluation events, where they go, the
score metrics, and ``type: evaluation`` policies that block a model whose results fell."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import genops
from genops import attributes as A
from genops.policy import ManualClock, PolicyConfigError
from genops.policy.loader import load
from genops.policy.slo import EvaluationPolicy
from tests.conftest import Telemetry
from tests.spec import assert_optional_schemas


def answer(model: str = "gpt-4o-mini", response_id: str = "chatcmpl-1") -> genops.GovernedUnit:
    with genops.governed("answer", provider="openai", model=model) as unit:
        unit.record_usage(input_tokens=100, output_tokens=20)
        unit.set_response(response_id=response_id)
    return unit


def events(span: Any) -> dict[str, dict[str, Any]]:
    return {
        e.name: dict(e.attributes)
        for e in span.events
        if e.name in (A.EVENT_EVALUATION_COMPLETE, A.EVENT_GEN_AI_EVALUATION_RESULT)
    }


def test_an_open_unit_gets_both_events_on_its_own_span(telemetry, runtime):
    with genops.governed("answer", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=100, output_tokens=20)
        unit.set_response(response_id="chatcmpl-7")
        result = genops.record_evaluation(
            "relevance", 0.8, threshold=0.5, unit=unit, explanation="on topic"
        )
    span = telemetry.span("chat gpt-4o-mini")
    assert [s.name for s in telemetry.spans()] == ["chat gpt-4o-mini"]
    assert result.span_context == span.context
    assert result.passed is True
    assert events(span) == {
        A.EVENT_EVALUATION_COMPLETE: {
            A.EVAL_METRIC: "relevance",
            A.EVAL_SCORE: 0.8,
            A.EVAL_THRESHOLD: 0.5,
            A.EVAL_PASSED: True,
        },
        A.EVENT_GEN_AI_EVALUATION_RESULT: {
            A.GEN_AI_EVALUATION_NAME: "relevance",
            A.GEN_AI_EVALUATION_SCORE_VALUE: 0.8,
            A.GEN_AI_EVALUATION_SCORE_LABEL: "pass",
            A.GEN_AI_EVALUATION_EXPLANATION: "on topic",
            A.GEN_AI_RESPONSE_ID: "chatcmpl-7",
        },
    }


def test_a_finished_unit_gets_a_child_evaluation_span(telemetry, runtime):
    unit = answer(response_id="chatcmpl-9")
    result = genops.record_evaluation(
        "faithfulness", 0.0, passed=False, unit=unit, label="unfaithful"
    )
    awu = telemetry.span("chat gpt-4o-mini")
    evaluation = telemetry.span("evaluation faithfulness")
    assert evaluation.parent is not None
    assert evaluation.parent.span_id == awu.context.span_id
    assert evaluation.context.trace_id == awu.context.trace_id
    assert result.span_context == evaluation.context
    assert A.SPEC_VERSION not in evaluation.attributes  # not an AI Workload Unit
    assert dict(evaluation.attributes) == {
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.EVAL_METRIC: "faithfulness",
        A.EVAL_SCORE: 0.0,
        A.EVAL_PASSED: False,
        A.GEN_AI_RESPONSE_ID: "chatcmpl-9",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_PROVIDER_NAME: "openai",
    }
    otel = events(evaluation)[A.EVENT_GEN_AI_EVALUATION_RESULT]
    assert otel[A.GEN_AI_EVALUATION_SCORE_LABEL] == "unfaithful"
    assert otel[A.GEN_AI_RESPONSE_ID] == "chatcmpl-9"
    assert events(awu) == {}  # the finished unit's span is unchanged


def test_a_span_context_from_elsewhere_is_the_parent(telemetry, runtime):
    remote = telemetry.tracer.start_span("remote answer")
    remote.end()
    genops.record_evaluation(
        "toxicity", 0.02, passed=True, span_context=remote.get_span_context(), model="m"
    )
    evaluation = telemetry.span("evaluation toxicity")
    assert evaluation.parent is not None
    assert evaluation.parent.span_id == remote.get_span_context().span_id
    assert evaluation.attributes[A.GEN_AI_REQUEST_MODEL] == "m"


def test_the_current_span_takes_the_events_and_nothing_makes_a_root(telemetry, runtime):
    with telemetry.tracer.start_as_current_span("handler"):
        genops.record_evaluation("helpfulness", 4.0)
    handler = telemetry.span("handler")
    assert events(handler)[A.EVENT_EVALUATION_COMPLETE] == {
        A.EVAL_METRIC: "helpfulness",
        A.EVAL_SCORE: 4.0,
    }
    assert A.GEN_AI_EVALUATION_SCORE_LABEL not in events(handler)[A.EVENT_GEN_AI_EVALUATION_RESULT]
    genops.record_evaluation("helpfulness", 2.0, response_id="chatcmpl-x")
    root = telemetry.span("evaluation helpfulness")
    assert root.parent is None
    assert events(root)[A.EVENT_GEN_AI_EVALUATION_RESULT][A.GEN_AI_RESPONSE_ID] == "chatcmpl-x"


def test_score_histogram_and_results_counter_by_metric_team_and_model(telemetry, runtime):
    unit = answer()
    with genops.attribution(team="search"):
        other = answer("gpt-4o")
    genops.record_evaluation("faithfulness", 1.0, passed=True, unit=unit)
    genops.record_evaluation("faithfulness", 0.0, passed=False, unit=unit)
    genops.record_evaluation("faithfulness", 0.9, threshold=0.5, unit=other)
    genops.record_evaluation("style", 3.0, unit=other)  # no verdict: histogram only
    scores = {
        (
            p.attributes[A.EVAL_METRIC],
            p.attributes[A.TEAM],
            p.attributes[A.GEN_AI_REQUEST_MODEL],
        ): (p.count, p.sum)
        for p in telemetry.metrics()[A.METRIC_EVALUATION_SCORE]
    }
    assert scores == {
        ("faithfulness", "platform", "gpt-4o-mini"): (2, 1.0),
        ("faithfulness", "search", "gpt-4o"): (1, 0.9),
        ("style", "search", "gpt-4o"): (1, 3.0),
    }
    results = {
        (p.attributes[A.TEAM], p.attributes[A.EVAL_PASSED]): p.value
        for p in telemetry.metrics()[A.METRIC_EVALUATION_RESULTS]
    }
    assert results == {("platform", "true"): 1, ("platform", "false"): 1, ("search", "true"): 1}


def test_metric_names_go_through_the_cardinality_guard(telemetry, make_genops):
    make_genops(metric_label_limit=2)
    unit = answer()
    for name in ("a", "b", "c", "d"):
        genops.record_evaluation(name, 1.0, unit=unit)
    names = sorted(
        p.attributes[A.EVAL_METRIC] for p in telemetry.metrics()[A.METRIC_EVALUATION_SCORE]
    )
    assert names == ["_OTHER", "a", "b"]
    overflow = telemetry.metrics()[A.METRIC_LABEL_OVERFLOW]
    assert {p.attributes[A.METRIC_LABEL]: p.value for p in overflow} == {A.EVAL_METRIC: 2}


def test_bad_arguments_are_refused(runtime):
    unit = answer()
    for args, kwargs, error in (
        (("", 1.0), {}, ValueError),
        (("m", float("nan")), {}, ValueError),
        (("m", True), {}, TypeError),
        (("m", "0.5"), {}, TypeError),
        (("m", 1.0), {"passed": "yes"}, TypeError),
        (("m", 1.0), {"unit": unit, "span_context": unit.span.get_span_context()}, TypeError),
        (("m", 1.0), {"label": ""}, ValueError),
    ):
        with pytest.raises(error):
            genops.record_evaluation(*args, **kwargs)


def eval_policy(**rule: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "policies": [{"name": "grounded", "type": "evaluation", "metric": "faithfulness", **rule}],
    }


def test_a_model_whose_pass_rate_fell_below_the_minimum_is_blocked(telemetry, make_genops):
    make_genops(policy=eval_policy(min_pass_rate=0.9, min_samples=3, window="1h", per=["model"]))
    unit = answer("gpt-4o-mini")
    for passed in (True, True, False):  # 67 % < 90 %
        genops.record_evaluation("faithfulness", float(passed), passed=passed, unit=unit)
    genops.record_evaluation("other-metric", 0.0, passed=False, unit=unit)  # not this rule's
    with pytest.raises(genops.PolicyViolationError) as info:
        answer("gpt-4o-mini")
    assert info.value.reason_code == "x_evaluation_below_minimum"
    assert "faithfulness pass rate 66.7% below 90.0% (3 evaluations" in (info.value.reason or "")
    answer("gpt-4o")  # another model: its own window, still empty
    results = [(s.name, s.attributes.get(A.POLICY_RESULT)) for s in telemetry.spans()]
    assert [r for r in results if r[0].startswith("chat")] == [
        ("chat gpt-4o-mini", "ALLOWED"),
        ("chat gpt-4o-mini", "BLOCKED"),
        ("chat gpt-4o", "ALLOWED"),
    ]


def test_warning_enforcement_and_min_score_let_the_call_run(telemetry, make_genops):
    make_genops(policy=eval_policy(min_score=0.7, min_samples=2, enforcement="WARNING"))
    unit = answer()
    genops.record_evaluation("faithfulness", 0.5, unit=unit)
    genops.record_evaluation("faithfulness", 0.6, unit=unit)
    answer()
    last = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"][-1]
    assert last.attributes[A.POLICY_RESULT] == "WARNING"
    assert "mean score 0.55 below 0.7" in last.attributes[A.POLICY_REASON]


def test_a_blocked_model_recovers_when_old_evaluations_age_out(telemetry, runtime):
    clock = ManualClock(0.0)
    genops.register_policy(
        EvaluationPolicy(
            "grounded", "faithfulness", min_pass_rate=0.9, min_samples=1, window="1h", clock=clock
        )
    )
    genops.record_evaluation("faithfulness", 0.0, passed=False, unit=answer())
    with pytest.raises(genops.PolicyViolationError):
        answer()
    clock.advance(3601)
    answer()


def test_evaluation_rule_validation():
    with pytest.raises(PolicyConfigError, match="exactly one of min_pass_rate, min_score"):
        load(eval_policy())
    with pytest.raises(PolicyConfigError) as info:
        load(eval_policy(min_pass_rate=1.5))
    assert info.value.field == "min_pass_rate"
    [rule] = load(eval_policy(min_pass_rate=0.9)).policies
    assert isinstance(rule, EvaluationPolicy) and rule.enforcement.value == "BLOCKED"


def test_conformance_check_rejects_malformed_evaluation_events(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bad")
    for event in (
        (A.EVENT_EVALUATION_COMPLETE, {A.EVAL_METRIC: "m", A.EVAL_SCORE: "high"}),
        (A.EVENT_EVALUATION_COMPLETE, {A.EVAL_SCORE: 1.0}),
        (A.EVENT_GEN_AI_EVALUATION_RESULT, {A.GEN_AI_EVALUATION_SCORE_VALUE: 1.0}),
        (A.EVENT_COST_CALCULATED, {A.COST_TOTAL: 1.0, A.COST_CURRENCY: "dollars"}),
    ):
        exporter.clear()
        with tracer.start_as_current_span("bad") as span:
            span.add_event(*event)
        [finished] = exporter.get_finished_spans()
        with pytest.raises(AssertionError):
            assert_optional_schemas(finished)
