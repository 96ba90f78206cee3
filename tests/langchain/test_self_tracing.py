"""ChatAnthropic with anthropic 2.14's own tracing on, at a gateway URL.

The SDK's span used to be a separate root trace carrying ``gen_ai.usage.*`` beside the
LangChain unit's: tokens summed over spans doubled. Now, with genops-native on, it is a
child of the LangChain LLM span without usage; without genops-native it cannot be
nested (no genops code runs around the SDK call) but still drops its usage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE, FakeProvider
from tests.native.prices import reference_cost

genops_native = pytest.importorskip("genops_native")
langchain_anthropic = pytest.importorskip("langchain_anthropic")

SDK_SCOPE = "com.anthropic.sdk.python"
USAGE = genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)
assert USAGE is not None
COST = float(reference_cost("anthropic", "claude-sonnet-4-5", USAGE))


@pytest.fixture
def gateway() -> Iterator[str]:
    with FakeProvider().serve() as url:
        yield url


def _chat(gateway: str, telemetry: Any) -> Any:
    """A ChatAnthropic whose client traces itself onto genops' tracer provider (what a
    global SDK provider gives every client)."""
    model = langchain_anthropic.ChatAnthropic(
        model="claude-sonnet-4-5", api_key="k", base_url=gateway, max_tokens=64, max_retries=0
    )
    options: Any = {"tracer_provider": telemetry.tracer_provider}
    model.__dict__["_client"] = model._client.with_options(open_telemetry=options)
    return model


def _scope(span: Any) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


def _usage_spans(telemetry: Any) -> list[Any]:
    return [s for s in telemetry.spans() if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_chat_anthropic_with_native(
    runtime: genops.GenOps, telemetry: Any, gateway: str, stream: bool
) -> None:
    handle = genops_native.instrument_anthropic()
    try:
        model, handler = _chat(gateway, telemetry), GenOpsCallbackHandler()
        for _ in range(3):
            if stream:
                for _chunk in model.stream("hi", config={"callbacks": [handler]}):
                    pass
            else:
                model.invoke("hi", config={"callbacks": [handler]})
    finally:
        handle.uninstrument()
    spans = telemetry.spans()
    units = [s for s in spans if _scope(s) == "genops"]
    sdk = [s for s in spans if _scope(s) == SDK_SCOPE]
    assert len(units) == 3 and len(sdk) == 3
    ids = {u.context.span_id: u for u in units}
    for span in sdk:  # nested in the LangChain LLM span: one trace per call
        assert span.parent is not None and span.parent.span_id in ids
        assert span.context.trace_id == ids[span.parent.span_id].context.trace_id
        assert span.attributes[A.USAGE_COUNTED_ON] == format(span.parent.span_id, "016x")
    usage_spans = _usage_spans(telemetry)
    assert sorted(map(_scope, usage_spans)) == ["genops"] * 3
    assert sum(s.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] for s in spans if A.GEN_AI_USAGE_INPUT_TOKENS in s.attributes) == 3 * USAGE.input_tokens  # fmt: skip
    for unit in units:
        assert unit.attributes[A.COST_TOTAL] == pytest.approx(COST)
        assert unit.attributes[A.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_chat_anthropic_without_native(
    runtime: genops.GenOps, telemetry: Any, gateway: str
) -> None:
    model, handler = _chat(gateway, telemetry), GenOpsCallbackHandler()
    model.invoke("hi", config={"callbacks": [handler]})
    (unit,) = [s for s in telemetry.spans() if _scope(s) == "genops"]
    (sdk,) = [s for s in telemetry.spans() if _scope(s) == SDK_SCOPE]
    assert sdk.attributes[A.USAGE_COUNTED_ON] == format(unit.context.span_id, "016x")
    assert _usage_spans(telemetry) == [unit]
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens
