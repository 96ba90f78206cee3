"""ChatOpenAI through the genops-native OpenAI layer: exactly one cost-bearing span per call.

The LangChain chat unit is bound as cost owner in ``on_chat_model_start``; the native
SDK wrapper underneath sees it (``genops.covering_unit()``) and adds the provider
call's usage to it instead of opening a second governed span. The OpenAI SDK talks
to an ``httpx.MockTransport`` (real SDK, real LangChain, real HTTP client stack).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from langchain_core.prompts import ChatPromptTemplate

from genops import attributes as A
from tests.langchain.conftest import native_chat_openai
from tests.spec import assert_compliant

pytest.importorskip("langchain_openai")
genops_native = pytest.importorskip("genops_native")
from langchain_openai import ChatOpenAI  # noqa: E402

MODEL = "gpt-4o-mini-2024-07-18"
USAGE = {
    "prompt_tokens": 900,
    "completion_tokens": 120,
    "total_tokens": 1020,
    "prompt_tokens_details": {"cached_tokens": 300},
    "completion_tokens_details": {"reasoning_tokens": 20},
}
# 600 × $0.15/M + 300 cached × $0.075/M + 120 × $0.60/M
COST = 0.0001845
PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])


def _completion() -> dict[str, object]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": USAGE,
    }


def _sse() -> bytes:
    base = {"id": "chatcmpl-abc", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " there"}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": USAGE},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return body.encode()


class Provider:
    """The fake OpenAI endpoint; counts requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if body.get("stream"):
            return httpx.Response(
                200, content=_sse(), headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=_completion())


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def chat(provider: Provider) -> Iterator[ChatOpenAI]:
    with native_chat_openai(provider, stream_usage=True) as model:
        yield model


def _cost_bearing(telemetry):
    return [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in (s.attributes or {})]


def test_native_layer_alone_governs_the_call(telemetry, runtime, chat, provider):
    """Control: without the LangChain handler the native layer owns the call."""
    assert chat.invoke("hi").content == "Hello there"
    (span,) = _cost_bearing(telemetry)
    assert span.attributes[A.COST_TOTAL] == pytest.approx(COST)
    assert len(provider.requests) == 1


async def test_chatopenai_under_the_handler_has_one_cost_bearing_span_per_call(
    telemetry, runtime, handler, chat, provider
):
    chain = (PROMPT | chat).with_config(run_name="ask")
    config = {"callbacks": [handler]}
    runs = [
        ("invoke", lambda: chain.invoke({"question": "hi"}, config=config)),
        ("stream", lambda: list(chain.stream({"question": "hi"}, config=config))),
    ]
    for calls, (mode, run) in enumerate(runs, start=1):
        telemetry.exporter.clear()
        run()
        _assert_one_cost_bearing(telemetry, mode, streamed=mode == "stream", calls=calls)
    telemetry.exporter.clear()
    await chain.ainvoke({"question": "hi"}, config=config)
    _assert_one_cost_bearing(telemetry, "ainvoke", streamed=False, calls=3)
    telemetry.exporter.clear()
    [c async for c in chain.astream({"question": "hi"}, config=config)]
    _assert_one_cost_bearing(telemetry, "astream", streamed=True, calls=4)
    assert len(provider.requests) == 4
    assert provider.requests[1]["stream_options"] == {"include_usage": True}
    assert handler.open_runs == 0


def _assert_one_cost_bearing(telemetry, mode: str, *, streamed: bool, calls: int) -> None:
    spans = telemetry.spans()
    assert sorted(s.name for s in spans) == [
        "ChatPromptTemplate",
        "chat gpt-4o-mini",
        "invoke_workflow ask",
    ], mode
    (unit,) = _cost_bearing(telemetry)
    assert unit.name == "chat gpt-4o-mini", mode
    assert_compliant(unit)
    attrs = unit.attributes
    assert attrs[A.COST_TOTAL] == pytest.approx(COST), mode
    assert attrs[A.ACCOUNTING_ACTUAL] == pytest.approx(COST), mode
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 900, mode
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 120, mode
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 300, mode
    assert attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 20, mode
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == MODEL, mode
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai", mode
    assert attrs.get(A.GEN_AI_REQUEST_STREAM, False) is streamed, mode
    root = next(s for s in spans if s.name == "invoke_workflow ask")
    assert root.attributes[A.ROLLUP_UNITS] == 1, mode
    assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(COST), mode
    # the cost counter (cumulative over the test) grew by exactly one call's cost
    cost_points = telemetry.metrics()[A.METRIC_COST]
    assert sum(p.value for p in cost_points) == pytest.approx(calls * COST), mode


def test_chatopenai_inside_a_users_unit_is_counted_once(telemetry, runtime, handler, chat):
    """User unit → LangChain run (plain span) → native SDK layer: the SDK layer adds the
    call to the user's unit; the handler sees that and does not add it again."""
    import genops

    for stream in (False, True):
        telemetry.exporter.clear()
        with genops.governed("turn", provider="openai", model="gpt-4o-mini", span_name="user turn"):
            if stream:
                list(chat.stream("hi", config={"callbacks": [handler]}))
            else:
                chat.invoke("hi", config={"callbacks": [handler]})
        (unit,) = _cost_bearing(telemetry)
        assert unit.name == "user turn"
        assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 900, stream
        assert unit.attributes[A.COST_TOTAL] == pytest.approx(COST), stream
        assert sorted(s.name for s in telemetry.spans()) == ["chat gpt-4o-mini", "user turn"]
