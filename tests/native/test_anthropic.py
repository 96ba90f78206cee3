"""Anthropic SDK: messages.create (plain and stream=True) and messages.stream(), sync and async."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import genops
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE, FakeProvider
from tests.native.prices import reference_cost
from tests.native.spans import check_unit_span

MODEL = "claude-sonnet-4-6"
# input_tokens 25 + cache read 100 + cache write 40 (Anthropic reports them apart)
USAGE = genops.Usage(165, 9, cache_read_tokens=100, cache_write_tokens=40)
KWARGS = {
    "model": MODEL,
    "max_tokens": 64,
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "Hi there"}],
}

assert genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE) == USAGE


def _check(span: Any, stream: bool) -> None:
    check_unit_span(
        span,
        provider="anthropic",
        model=MODEL,
        op_name="anthropic.messages",
        host="api.anthropic.com",
        stream=stream,
        max_tokens=64,
        response_model=MODEL,
        usage=USAGE,
        cost=reference_cost("anthropic", MODEL, USAGE),
        response_id="msg_fake1",
        finish_reasons=["end_turn"],
        first_chunk=stream,
    )


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_messages_create(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_anthropic: Any, async_: bool
) -> None:
    client = make_anthropic(async_=async_)
    message = client.messages.create(**KWARGS)
    if async_:
        message = await message
    assert isinstance(message, anthropic.types.Message)
    assert message.content[0].text == "Hello!"
    (span,) = telemetry.spans()
    _check(span, stream=False)
    assert fake.last.body["system"] == "Be brief."


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_messages_create_stream(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any, async_: bool
) -> None:
    client = make_anthropic(async_=async_)
    if async_:
        stream = await client.messages.create(**KWARGS, stream=True)
        assert isinstance(stream, anthropic.AsyncStream)
        kinds = [event.type async for event in stream]
    else:
        stream = client.messages.create(**KWARGS, stream=True)
        assert isinstance(stream, anthropic.Stream)
        kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    (span,) = telemetry.spans()
    _check(span, stream=True)


def test_messages_stream_manager_text_stream(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_anthropic: Any
) -> None:
    client = make_anthropic()
    manager = client.messages.stream(**KWARGS)
    assert fake.request_count == 0  # the SDK sends on __enter__, as without genops
    with manager as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Hello!"
    assert final.usage.output_tokens == 9
    (span,) = telemetry.spans()
    _check(span, stream=True)


async def test_async_messages_stream_manager_final_message(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any
) -> None:
    client = make_anthropic(async_=True)
    async with client.messages.stream(**KWARGS) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "Hello!"
    (span,) = telemetry.spans()
    _check(span, stream=True)


def test_bedrock_and_vertex_urls_name_their_provider(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any
) -> None:
    client = make_anthropic(base_url="https://bedrock-runtime.us-east-1.amazonaws.com")
    client.messages.create(**{**KWARGS, "model": "anthropic.claude-3-5-haiku-20241022-v1:0"})
    (span,) = telemetry.spans()
    assert span.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert span.attributes["genops.cost.total"] == float(
        reference_cost("aws", "anthropic.claude-3-5-haiku-20241022-v1:0", USAGE)
    )


def test_async_stream_manager_needs_async_with(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_anthropic: Any
) -> None:
    with (
        pytest.raises(TypeError, match="async with"),
        make_anthropic(async_=True).messages.stream(**KWARGS),
    ):
        pass
    assert fake.request_count == 0
    assert telemetry.spans() == []
