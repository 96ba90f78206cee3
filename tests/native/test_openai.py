"""OpenAI SDK: every endpoint × sync/async × stream/non-stream, spans checked completely."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest

import genops
from genops import attributes as A
from tests.fakes.provider import (
    DEFAULT_CHAT_USAGE,
    DEFAULT_RESPONSES_USAGE,
    FakeProvider,
)
from tests.native.prices import reference_cost
from tests.native.spans import check_unit_span

CHAT_USAGE = genops.Usage(21, 7, cache_read_tokens=5, reasoning_tokens=2)
RESPONSES_USAGE = genops.Usage(30, 12, cache_read_tokens=10, reasoning_tokens=4)
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]

assert genops.Usage.from_provider(DEFAULT_CHAT_USAGE) == CHAT_USAGE
assert genops.Usage.from_provider(DEFAULT_RESPONSES_USAGE) == RESPONSES_USAGE


async def _run(client: Any, endpoint: str, stream: bool) -> tuple[Any, list[Any]]:
    """Call ``endpoint`` on a sync or async client; consume the stream; return (result, chunks)."""
    if endpoint == "chat":
        kwargs: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50}
        if stream:
            kwargs |= {"stream": True, "stream_options": {"include_usage": True}}
        method = client.chat.completions.create
    elif endpoint == "responses":
        kwargs = {"model": "gpt-4o-mini", "input": "Hi there", "max_output_tokens": 60}
        if stream:
            kwargs["stream"] = True
        method = client.responses.create
    else:
        kwargs = {"model": "text-embedding-3-small", "input": ["alpha", "beta"]}
        method = client.embeddings.create
    result = method(**kwargs)
    if asyncio.iscoroutine(result):
        result = await result
    chunks: list[Any] = []
    if stream:
        if hasattr(result, "__aiter__"):
            chunks = [c async for c in result]
        else:
            chunks = list(result)
    return result, chunks


CASES = [
    ("chat", False),
    ("chat", True),
    ("responses", False),
    ("responses", True),
    ("embeddings", False),
]


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("endpoint", "stream"), CASES, ids=[f"{e}-{s}" for e, s in CASES])
async def test_endpoint_span_matches_semconv_and_spec(
    native: genops.GenOps,
    telemetry: Any,
    fake: FakeProvider,
    make_openai: Any,
    endpoint: str,
    stream: bool,
    async_: bool,
) -> None:
    client = make_openai(async_=async_)
    result, chunks = await _run(client, endpoint, stream)

    assert fake.request_count == 1
    (span,) = telemetry.spans()
    if endpoint == "embeddings":
        usage = genops.Usage(16, 0)
        model = "text-embedding-3-small"
        check_unit_span(
            span,
            provider="openai",
            model=model,
            operation=A.OP_EMBEDDINGS,
            op_name="openai.embeddings",
            op_type="embedding",
            host="api.openai.com",
            stream=None,
            max_tokens=None,  # embeddings: no gen_ai.request.max_tokens
            response_model=model,
            usage=usage,
            cost=reference_cost("openai", model, usage),
        )
        assert len(result.data) == 2
        return
    usage = CHAT_USAGE if endpoint == "chat" else RESPONSES_USAGE
    check_unit_span(
        span,
        provider="openai",
        model="gpt-4o-mini",
        op_name=f"openai.{'chat.completions' if endpoint == 'chat' else 'responses'}",
        host="api.openai.com",
        stream=stream,
        max_tokens=50 if endpoint == "chat" else 60,
        response_model="gpt-4o-mini",
        usage=usage,
        cost=reference_cost("openai", "gpt-4o-mini", usage),
        response_id="chatcmpl-fake1" if endpoint == "chat" else "resp_fake1",
        finish_reasons=["stop"] if endpoint == "chat" else ["completed"],
        first_chunk=stream,
    )
    if stream:
        # the caller got the SDK's own stream API and every chunk, untouched
        assert isinstance(result, openai.AsyncStream if async_ else openai.Stream)
        assert len(chunks) == (6 if endpoint == "chat" else 5)
    # metrics: semconv histograms and the cost counter, labelled with the provider
    metrics = telemetry.metrics()
    tokens = {p.attributes[A.GEN_AI_TOKEN_TYPE]: p.sum for p in metrics[A.METRIC_TOKEN_USAGE]}
    assert tokens == {"input": usage.input_tokens, "output": usage.output_tokens}
    (cost_point,) = metrics[A.METRIC_COST]
    assert cost_point.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    if stream:
        assert A.METRIC_TIME_TO_FIRST_CHUNK in metrics


def test_tool_calls_and_parse(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    from tests.fakes import wire
    from tests.fakes.provider import Reply

    client = make_openai()
    fake.script(
        Reply.json(
            wire.chat_completion("gpt-4o-mini-2024-07-18", usage=DEFAULT_CHAT_USAGE, tool_call=True)
        )
    )
    tools = [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools)
    assert completion.choices[0].message.tool_calls[0].function.name == "get_weather"
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)
    assert parsed.choices[0].message.content == "Hello!"
    first, second = telemetry.spans()
    check_unit_span(
        first,
        provider="openai",
        model="gpt-4o-mini",
        op_name="openai.chat.completions",
        host="api.openai.com",
        response_model="gpt-4o-mini-2024-07-18",
        usage=CHAT_USAGE,
        cost=reference_cost("openai", "gpt-4o-mini-2024-07-18", CHAT_USAGE),
        response_id="chatcmpl-fake1",
        finish_reasons=["tool_calls"],
    )
    assert second.attributes[A.OPERATION_NAME] == "openai.chat.completions"
    assert second.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21


def test_raw_response_is_governed(native: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    client = make_openai()
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.parse().usage.prompt_tokens == 21
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    assert span.attributes[A.COST_TOTAL] == float(
        reference_cost("openai", "gpt-4o-mini", CHAT_USAGE)
    )


def test_chat_completions_stream_helper(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    client = make_openai()
    with client.chat.completions.stream(
        model="gpt-4o-mini", messages=MESSAGES, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello!"
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[A.COST_TOTAL] == float(
        reference_cost("openai", "gpt-4o-mini", CHAT_USAGE)
    )
