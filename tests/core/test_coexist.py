"""genops.coexist: another library's GenAI span around or inside a genops unit loses its
gen_ai.usage.* (the unit keeps it), whichever side of the unit it is on."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

import genops
from genops import attributes as A
from genops import coexist

MODEL = "gpt-4o-mini"


def _usage_spans(telemetry: Any) -> list[str]:
    return sorted(
        s.instrumentation_scope.name
        for s in telemetry.spans()
        if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes
    )


def test_an_instrumentation_wrapping_outside_the_unit(
    runtime: genops.GenOps, telemetry: Any
) -> None:
    """As opentelemetry-instrumentation-openai-v2 does when it wraps the SDK method after
    genops did: its CLIENT span is the unit's parent and sets usage when the call returns."""
    other = telemetry.tracer_provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with other.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as outer:
        with genops.governed("reply", provider="openai", model=MODEL) as unit:
            unit.record_usage(input_tokens=10, output_tokens=5)
        outer.set_attributes({A.GEN_AI_USAGE_INPUT_TOKENS: 10, "gen_ai.response.id": "r1"})
        outer.set_attribute(A.GEN_AI_USAGE_OUTPUT_TOKENS, 5)
    assert _usage_spans(telemetry) == ["genops"]
    (span,) = [s for s in telemetry.spans() if s.instrumentation_scope.name != "genops"]
    assert span.attributes["gen_ai.response.id"] == "r1"
    assert span.attributes[A.USAGE_COUNTED_ON] == format(
        unit.span.get_span_context().span_id, "016x"
    )


def test_a_span_started_inside_the_unit(runtime: genops.GenOps, telemetry: Any) -> None:
    sdk = telemetry.tracer_provider.get_tracer("com.example.sdk")
    with genops.governed("reply", provider="openai", model=MODEL) as unit:
        with sdk.start_as_current_span("call", kind=SpanKind.CLIENT) as inner:
            inner.set_attribute(A.GEN_AI_USAGE_INPUT_TOKENS, 10)
        unit.record_usage(input_tokens=10, output_tokens=5)
    assert _usage_spans(telemetry) == ["genops"]


def test_unrelated_spans_keep_their_attributes(runtime: genops.GenOps, telemetry: Any) -> None:
    """No genops unit near: nothing is touched, and no marker is added to HTTP spans."""
    sdk = telemetry.tracer_provider.get_tracer("com.example.sdk")
    with sdk.start_as_current_span("call", kind=SpanKind.CLIENT) as span:
        span.set_attribute(A.GEN_AI_USAGE_INPUT_TOKENS, 10)
    with genops.governed("reply", provider="openai", model=MODEL) as unit:
        with sdk.start_as_current_span("GET", kind=SpanKind.CLIENT) as http:
            http.set_attribute("http.response.status_code", 200)
        unit.record_usage(input_tokens=1, output_tokens=1)
    by_name = {s.name: s for s in telemetry.spans()}
    assert by_name["call"].attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert A.USAGE_COUNTED_ON not in by_name["GET"].attributes


def test_installed_once_per_provider(runtime: genops.GenOps, telemetry: Any) -> None:
    assert coexist.install(telemetry.tracer_provider, detected=("x 1",))
    assert coexist.install(telemetry.tracer_provider, detected=("x 1",))
    processors = telemetry.tracer_provider._active_span_processor._span_processors
    assert sum(isinstance(p, coexist.UsageOwner) for p in processors) == 1
    assert not coexist.install(trace.NoOpTracerProvider(), detected=("x 1",))
    assert not coexist.install(telemetry.tracer_provider.__class__(), detected=())
