"""The official ``opentelemetry-instrumentation-openai-v2`` (on ``opentelemetry-util-genai``)
beside genops: whichever wraps the SDK method first, its CLIENT span and genops' unit
are parent and child in one trace, and only genops' unit carries ``gen_ai.usage.*``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

import genops
import genops_native
from genops import attributes as A
from genops import coexist
from tests.fakes.provider import DEFAULT_CHAT_USAGE, FakeProvider

OTEL_SCOPE = "opentelemetry.instrumentation.openai_v2"
USAGE = genops.Usage.from_provider(DEFAULT_CHAT_USAGE)
assert USAGE is not None
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=["genops-first", "otel-first"])
def both(request: pytest.FixtureRequest, runtime: genops.GenOps, telemetry: Any) -> Iterator[str]:
    """genops-native and the OTel instrumentation on the same SDK methods, in both
    orders (the one instrumented last is the outer wrapper); undone in reverse."""
    otel = OpenAIInstrumentor()

    def otel_on() -> Any:
        otel.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        return otel

    if request.param == "genops-first":
        steps = [genops_native.instrument_openai(), otel_on()]
    else:
        steps = [otel_on(), genops_native.instrument_openai()]
    yield request.param
    for step in reversed(steps):
        step.uninstrument()


def _scope(span: Any) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def _check(telemetry: Any, order: str, calls: int, *, marker: bool = True) -> None:
    """``marker``: the other span was handed usage (and dropped it); not so when it is
    outside genops on a stream: it never sees the usage chunk genops asked for and hides."""
    spans = telemetry.spans()
    units = {s.context.span_id: s for s in spans if _scope(s) == "genops"}
    others = [s for s in spans if _scope(s) == OTEL_SCOPE]
    assert len(units) == calls and len(others) == calls
    for span in others:
        if order == "otel-first":  # genops wraps outside: the OTel span is the child
            assert span.parent is not None and span.parent.span_id in units
            unit = units[span.parent.span_id]
        else:  # the OTel wrapper is outside: it is the unit's parent
            (unit,) = [u for u in units.values() if u.parent and u.parent.span_id == span.context.span_id]  # fmt: skip
        assert unit.context.trace_id == span.context.trace_id
        if marker:
            assert span.attributes[A.USAGE_COUNTED_ON] == format(unit.context.span_id, "016x")
        assert not [k for k in span.attributes if k.startswith("gen_ai.usage.")]
        assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"  # the rest stays
    usage_spans = [s for s in spans if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes]
    assert {_scope(s) for s in usage_spans} == {"genops"}
    total = sum(s.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] for s in usage_spans)
    assert total == calls * USAGE.input_tokens


def test_detected() -> None:
    found = coexist.detect()
    assert any(n.startswith("opentelemetry-instrumentation-openai-v2 ") for n in found)
    assert any(n.startswith("opentelemetry-util-genai ") for n in found)


def test_the_instrumentation_alone_records_usage(telemetry: Any, make_openai: Any) -> None:
    """The premise: without genops its span carries the call's usage."""
    otel = OpenAIInstrumentor()
    otel.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        otel.uninstrument()
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_one_usage_span_per_call(both: str, telemetry: Any, make_openai: Any, stream: bool) -> None:
    client = make_openai()
    for _ in range(2):
        result = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=stream
        )
        if stream:
            assert [c.choices[0].delta.content for c in result if c.choices]
    _check(telemetry, both, 2, marker=not (stream and both == "genops-first"))


def test_at_a_gateway_url(both: str, telemetry: Any) -> None:
    import openai

    with FakeProvider().serve() as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    _check(telemetry, both, 1)


async def test_async_stream(both: str, telemetry: Any, make_openai: Any) -> None:
    """An async stream through the other library's proxy still ends genops' unit."""
    client = make_openai(async_=True)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    assert [c.choices[0].delta.content async for c in stream if c.choices]
    _check(telemetry, both, 1, marker=both != "genops-first")
