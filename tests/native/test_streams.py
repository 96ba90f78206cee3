"""Streams finalize their unit exactly once: exhausted, broken, closed, ``with``, GC'd, raising."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.native.prices import reference_cost
from tests.native.spans import events

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
USAGE_ON = {"stream_options": {"include_usage": True}}


def _one_span(telemetry: Any) -> Any:
    spans = telemetry.spans()
    assert len(spans) == 1, [s.name for s in spans]
    (span,) = spans
    assert len(events(span, A.EVENT_BUDGET_RECONCILIATION)) == 1
    return span


def _assert_incomplete(span: Any) -> None:
    attrs = span.attributes
    assert attrs[A.ACCOUNTING_INCOMPLETE] is True
    assert attrs[A.ACCOUNTING_ACTUAL] == attrs[A.ACCOUNTING_RESERVED]
    assert attrs[A.COST_UNKNOWN] is True
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    (event,) = events(span, A.EVENT_BUDGET_RECONCILIATION)
    assert event[A.ACCOUNTING_INCOMPLETE] is True


@pytest.fixture(autouse=True)
def _no_double_end(caplog: pytest.LogCaptureFixture) -> Any:
    """The OTel SDK logs a warning when a span is ended twice: there must be none."""
    with caplog.at_level(logging.WARNING, logger="opentelemetry.sdk.trace"):
        yield
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


def test_exhausted_then_closed_and_collected_ends_once(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    stream = make_openai().chat.completions.create(**CHAT, **USAGE_ON)
    assert len(list(stream)) == 6
    span = _one_span(telemetry)
    stream.close()
    with stream:
        pass
    del stream
    gc.collect()
    assert _one_span(telemetry) is not None
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21


def test_break_out_of_loop_ends_the_unit_at_once(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    stream = make_openai().chat.completions.create(**CHAT, **USAGE_ON)
    for _chunk in stream:
        break
    span = _one_span(telemetry)  # ended on break, before the stream is dropped
    _assert_incomplete(span)
    assert span.attributes[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    rest = list(stream)  # the caller may still read on; nothing is counted twice
    assert rest
    _one_span(telemetry)


def test_close_before_reading(native: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    stream = make_openai().chat.completions.create(**CHAT, **USAGE_ON)
    assert telemetry.spans() == []
    stream.close()
    _assert_incomplete(_one_span(telemetry))
    assert stream.response.is_closed


def test_context_manager_partially_read(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    with make_openai().chat.completions.create(**CHAT, **USAGE_ON) as stream:
        assert isinstance(stream, openai.Stream)
        next(stream)
        next(stream)
    _assert_incomplete(_one_span(telemetry))


def test_garbage_collected_stream(native: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    stream = make_openai().chat.completions.create(**CHAT, **USAGE_ON)
    next(stream)
    del stream
    gc.collect()
    _assert_incomplete(_one_span(telemetry))


def test_error_midway_ends_with_error_type_and_reraises_sdk_exception(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    body = wire.chat_stream("gpt-4o-mini", ["Hel"], None).replace(
        b"data: [DONE]", b'data: {"error": {"message": "overloaded", "type": "server_error"}}'
    )
    fake.script(Reply.sse(body))
    stream = make_openai().chat.completions.create(**CHAT, **USAGE_ON)
    with pytest.raises(openai.APIError) as info:
        list(stream)
    assert type(info.value) is openai.APIError
    span = _one_span(telemetry)
    assert span.attributes[A.ERROR_TYPE] == "openai.APIError"
    assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0  # released: no usage reported
    assert span.status.status_code.name == "ERROR"


async def test_async_stream_break_close_and_context_manager(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    client = make_openai(async_=True)
    stream = await client.chat.completions.create(**CHAT, **USAGE_ON)
    async for _chunk in stream:
        break
    for _ in range(3):  # asyncio closes the abandoned async generator on the next turns
        await asyncio.sleep(0)
    _assert_incomplete(_one_span(telemetry))
    await stream.close()
    _one_span(telemetry)

    telemetry.exporter.clear()
    async with await client.chat.completions.create(**CHAT, **USAGE_ON) as stream2:
        await stream2.__anext__()
    _assert_incomplete(_one_span(telemetry))


def test_include_usage_option_adds_stream_options(
    runtime: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    client = make_openai()
    handle = genops_native.instrument_openai(client, include_usage=True)
    try:
        list(client.chat.completions.create(**CHAT))
        assert fake.last.body["stream_options"] == {"include_usage": True}
        span = _one_span(telemetry)
        assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
        assert A.ACCOUNTING_INCOMPLETE not in span.attributes
        # an explicit choice of the caller is kept
        list(client.chat.completions.create(**CHAT, stream_options={"include_usage": False}))
        assert fake.last.body["stream_options"] == {"include_usage": False}
    finally:
        handle.uninstrument()


def test_chat_streams_ask_for_usage_and_hide_the_extra_chunk(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    texts = [chunk.choices[0].delta.content for chunk in make_openai().chat.completions.create(**CHAT)]  # fmt: skip
    assert fake.last.body["stream_options"] == {"include_usage": True}  # asked by default
    assert texts == ["", "Hel", "lo", "!", None]  # the usage-only chunk never reached the loop
    span = _one_span(telemetry)
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    assert A.ACCOUNTING_INCOMPLETE not in span.attributes
    assert span.attributes[A.COST_TOTAL] > 0


async def test_async_chat_stream_hides_the_extra_chunk(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    stream = await make_openai(async_=True).chat.completions.create(**CHAT)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.choices for chunk in chunks)
    assert _one_span(telemetry).attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 7


def test_a_caller_who_asked_for_usage_sees_the_usage_chunk(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    chunks = list(make_openai().chat.completions.create(**CHAT, **USAGE_ON))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == 21


def test_stream_without_usage_is_flagged_incomplete(
    runtime: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    client = make_openai()
    handle = genops_native.instrument_openai(client, include_usage=False)  # the switch
    try:
        list(client.chat.completions.create(**CHAT))
    finally:
        handle.uninstrument()
    assert "stream_options" not in fake.last.body
    span = _one_span(telemetry)
    _assert_incomplete(span)
    assert span.attributes[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini"


def test_anthropic_stream_closed_before_final_usage_is_not_under_billed(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any
) -> None:
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    with make_anthropic().messages.stream(**kwargs) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    span = _one_span(telemetry)
    # message_start said 165 input tokens (25 + 100 cache read + 40 cache write): kept;
    # output: the running count (1) vs the text seen ("Hel": 1 token) — estimated
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 165
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    assert attrs[A.USAGE_ESTIMATED] is True
    assert A.ACCOUNTING_INCOMPLETE not in attrs
    usage = genops.Usage(165, 1, cache_read_tokens=100, cache_write_tokens=40)
    assert attrs[A.COST_TOTAL] == float(reference_cost("anthropic", "claude-sonnet-4-6", usage))
    assert attrs[A.ACCOUNTING_ACTUAL] == attrs[A.COST_TOTAL]  # not the reservation


async def test_async_anthropic_create_stream_closed(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any
) -> None:
    client = make_anthropic(async_=True)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 32,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    stream = await client.messages.create(**kwargs, stream=True)
    await stream.__anext__()  # message_start only
    await stream.close()
    attrs = _one_span(telemetry).attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 165  # message_start's input tokens kept
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 1  # its running output count
    assert attrs[A.USAGE_ESTIMATED] is True


def test_real_socket_stream_early_close(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    with fake.serve() as url:
        client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
        stream = client.chat.completions.create(**CHAT, **USAGE_ON)
        next(stream)
        stream.close()
        client.close()
    span = _one_span(telemetry)
    _assert_incomplete(span)
    # a loopback endpoint serving gpt-4o-mini over the OpenAI wire: priced as openai,
    # marked as inferred; the host stays in server.address
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.attributes[A.PROVIDER_SOURCE] == "wire_family"
    assert span.attributes[A.SERVER_ADDRESS] == "127.0.0.1"


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_provider_rejecting_stream_options_falls_back_to_a_local_count(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any, async_: bool
) -> None:
    rejected = {"error": {"message": "Unrecognized request argument: stream_options", "type": "invalid_request_error"}}  # fmt: skip
    fake.script(Reply.json(rejected, status=400))  # then the default (usage-less) stream
    client = make_openai(async_=async_)
    if async_:
        stream = await client.chat.completions.create(**CHAT)
        chunks = [c async for c in stream]
    else:
        chunks = list(client.chat.completions.create(**CHAT))
    assert fake.request_count == 2
    assert "stream_options" not in fake.last.body  # sent again as the caller wrote it
    assert all(c.choices for c in chunks)
    attrs = _one_span(telemetry).attributes
    assert attrs[A.USAGE_ESTIMATED] is True
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 5  # "Hi": 1 + 4 per text
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2  # "Hello!": 6 characters
    assert A.ACCOUNTING_INCOMPLETE not in attrs
    assert attrs[A.ACCOUNTING_ACTUAL] == attrs[A.COST_TOTAL]  # priced, not the reservation
    assert attrs[A.ACCOUNTING_ACTUAL] < attrs[A.ACCOUNTING_RESERVED]
