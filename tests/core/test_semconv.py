"""Semantic-convention names: v1.41 by default, the newest GenAI names under the opt-in;
content-capture modes."""

from __future__ import annotations

import pytest

import genops
from genops import attributes as A
from genops.semconv import ContentCapture, latest_experimental

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]

#: metric names that exist in only one of the two modes
V141_ONLY = {A.METRIC_TOKEN_USAGE, A.METRIC_TIME_TO_FIRST_CHUNK}
LATEST_ONLY = {
    A.METRIC_INFERENCE_DURATION,
    A.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK,
    A.METRIC_INFERENCE_USAGE_INPUT,
    A.METRIC_INFERENCE_USAGE_OUTPUT,
    A.METRIC_INFERENCE_USAGE_CACHE_READ,
    A.METRIC_INFERENCE_USAGE_CACHE_WRITE,
    A.METRIC_INFERENCE_USAGE_REASONING,
    A.METRIC_INFERENCE_OPERATION_INPUT,
    A.METRIC_INFERENCE_OPERATION_OUTPUT,
    A.METRIC_INVOKE_AGENT_DURATION,
    A.METRIC_EXECUTE_TOOL_DURATION,
    A.METRIC_INVOKE_WORKFLOW_DURATION,
}


def workload() -> None:
    """A streamed chat call with cache and reasoning tokens inside an agent, a tool call,
    a workflow and an embeddings call."""
    with genops.governed("workflow", "workflow", attributes={A.GEN_AI_WORKFLOW_NAME: "triage"}):
        with genops.governed("agent", "agent", attributes={A.GEN_AI_AGENT_NAME: "planner"}):
            with genops.governed("reply", provider="openai", model="acme-large") as unit:
                unit.record_first_chunk()
                unit.record_usage(
                    input_tokens=100,
                    output_tokens=40,
                    cache_read_tokens=30,
                    cache_write_tokens=20,
                    reasoning_tokens=10,
                )
            with genops.governed("lookup", "tool", attributes={A.GEN_AI_TOOL_NAME: "search"}):
                pass
        with genops.governed("embed", "embedding", provider="openai", model="acme-embed") as unit:
            unit.record_usage(input_tokens=8, output_tokens=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", False),
        ("http", False),
        ("gen_ai_latest_experimental", True),
        ("http, gen_ai_latest_experimental ", True),
        ("GEN_AI_LATEST_EXPERIMENTAL", True),
    ],
)
def test_opt_in_is_read_from_the_comma_separated_variable(value, expected):
    assert latest_experimental({A.ENV_SEMCONV_OPT_IN: value}) is expected


def test_default_mode_emits_the_v1_41_names(telemetry, make_genops, monkeypatch):
    monkeypatch.delenv(A.ENV_SEMCONV_OPT_IN, raising=False)
    make_genops(prices=PRICES)
    workload()
    span = telemetry.span("chat acme-large")
    assert span.attributes[A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 20
    assert A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS not in span.attributes
    metrics = telemetry.metrics()
    assert not LATEST_ONLY & metrics.keys()
    durations = {
        p.attributes[A.GEN_AI_OPERATION_NAME] for p in metrics[A.METRIC_OPERATION_DURATION]
    }
    assert durations == {"chat", "embeddings"}
    assert {p.attributes[A.GEN_AI_TOKEN_TYPE] for p in metrics[A.METRIC_TOKEN_USAGE]} == {
        "input",
        "output",
    }
    [ttfc] = metrics[A.METRIC_TIME_TO_FIRST_CHUNK]
    assert ttfc.count == 1


def test_opt_in_switches_every_renamed_attribute_and_metric(telemetry, make_genops, monkeypatch):
    monkeypatch.setenv(A.ENV_SEMCONV_OPT_IN, "gen_ai_latest_experimental")
    make_genops(prices=PRICES)
    workload()
    span = telemetry.span("chat acme-large")
    assert span.attributes[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 20
    assert A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS not in span.attributes
    metrics = telemetry.metrics()
    assert not V141_ONLY & metrics.keys()
    assert metrics.keys() >= LATEST_ONLY

    # inference on gen_ai.client.inference.duration; embeddings stay on operation.duration
    [inference] = metrics[A.METRIC_INFERENCE_DURATION]
    assert inference.attributes[A.GEN_AI_OPERATION_NAME] == "chat"
    [other] = metrics[A.METRIC_OPERATION_DURATION]
    assert other.attributes[A.GEN_AI_OPERATION_NAME] == "embeddings"
    [ttfc] = metrics[A.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK]
    assert ttfc.count == 1

    chat = {A.GEN_AI_OPERATION_NAME: "chat"}

    def counter(name: str) -> int:
        points = [
            p
            for p in metrics[name]
            if p.attributes[A.GEN_AI_OPERATION_NAME] == chat[A.GEN_AI_OPERATION_NAME]
        ]
        assert all(p.attributes[A.GEN_AI_TOKEN_MODALITY] == "unknown" for p in points)
        return sum(p.value for p in points)

    assert counter(A.METRIC_INFERENCE_USAGE_INPUT) == 100
    assert counter(A.METRIC_INFERENCE_USAGE_OUTPUT) == 40
    assert counter(A.METRIC_INFERENCE_USAGE_CACHE_READ) == 30
    assert counter(A.METRIC_INFERENCE_USAGE_CACHE_WRITE) == 20
    assert counter(A.METRIC_INFERENCE_USAGE_REASONING) == 10
    histogram_sums = {
        p.attributes[A.GEN_AI_OPERATION_NAME]: p.sum
        for p in metrics[A.METRIC_INFERENCE_OPERATION_INPUT]
    }
    assert histogram_sums == {"chat": 100, "embeddings": 8}
    assert all(
        A.GEN_AI_TOKEN_MODALITY not in p.attributes
        for p in metrics[A.METRIC_INFERENCE_OPERATION_INPUT]
    )

    [agent] = metrics[A.METRIC_INVOKE_AGENT_DURATION]
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "planner"
    assert agent.attributes[A.TEAM] == "platform"
    [tool] = metrics[A.METRIC_EXECUTE_TOOL_DURATION]
    assert tool.attributes[A.GEN_AI_TOOL_NAME] == "search"
    [workflow] = metrics[A.METRIC_INVOKE_WORKFLOW_DURATION]
    assert workflow.attributes[A.GEN_AI_WORKFLOW_NAME] == "triage"
    # cost stays genops.cost in both modes (no gen_ai cost convention upstream yet)
    assert sum(p.value for p in metrics[A.METRIC_COST]) == pytest.approx((140 + 8) / 1000)


def test_opt_in_agent_duration_carries_error_type(telemetry, make_genops, monkeypatch):
    monkeypatch.setenv(A.ENV_SEMCONV_OPT_IN, "gen_ai_latest_experimental")
    make_genops()
    with pytest.raises(KeyError):
        with genops.governed("agent", "agent", attributes={A.GEN_AI_AGENT_NAME: "planner"}):
            raise KeyError("x")
    [agent] = telemetry.metrics()[A.METRIC_INVOKE_AGENT_DURATION]
    assert agent.attributes[A.ERROR_TYPE] == "KeyError"


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        (None, ContentCapture.NO_CONTENT),
        (False, ContentCapture.NO_CONTENT),
        ("false", ContentCapture.NO_CONTENT),
        ("NO_CONTENT", ContentCapture.NO_CONTENT),
        (True, ContentCapture.SPAN_ONLY),
        ("true", ContentCapture.SPAN_ONLY),
        ("SPAN_ONLY", ContentCapture.SPAN_ONLY),
        ("event_only", ContentCapture.EVENT_ONLY),
        ("SPAN_AND_EVENT", ContentCapture.SPAN_AND_EVENT),
    ],
)
def test_content_capture_values(value, mode):
    assert ContentCapture.parse(value) is mode


def test_unknown_content_capture_value_is_a_precise_error():
    with pytest.raises(ValueError, match=r"'sometimes'.*SPAN_AND_EVENT"):
        ContentCapture.parse("sometimes")


@pytest.mark.parametrize(
    ("env", "on_span", "as_event"),
    [
        ("NO_CONTENT", False, False),
        ("true", True, False),
        ("SPAN_ONLY", True, False),
        ("EVENT_ONLY", False, True),
        ("SPAN_AND_EVENT", True, True),
    ],
)
def test_content_lands_where_the_mode_says(
    telemetry, make_genops, monkeypatch, env, on_span, as_event
):
    monkeypatch.setenv(A.ENV_CAPTURE_CONTENT, env)
    make_genops()
    with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_content(input_messages=[{"role": "user", "content": "hi"}])
        unit.record_content(output_messages=[{"role": "assistant", "content": "hello"}])
    span = telemetry.span("chat gpt-4o-mini")
    assert (A.GEN_AI_INPUT_MESSAGES in span.attributes) is on_span
    assert (A.GEN_AI_OUTPUT_MESSAGES in span.attributes) is on_span
    details = [e for e in span.events if e.name == "gen_ai.client.inference.operation.details"]
    assert len(details) == (2 if as_event else 0)
    if as_event:
        assert '"hi"' in details[0].attributes[A.GEN_AI_INPUT_MESSAGES]
        assert '"hello"' in details[1].attributes[A.GEN_AI_OUTPUT_MESSAGES]
