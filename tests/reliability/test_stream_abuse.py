"""Stream abuse: every way a caller can mistreat a stream — read to the end, break out,
close unread, leave a ``with`` block half read, drop it unclosed for the garbage
collector, hit a provider error midway — on every streaming surface (OpenAI chat and
Responses, Anthropic ``create(stream=True)`` and ``messages.stream()``, sync and
async). Each variant ends exactly one span with one reconciliation, never ends a span
twice, and leaves nothing reserved."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from genops.policy import Engine
from genops.policy.loader import build_engine
from tests.conftest import Telemetry
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply

DOC = {"version": 1, "policies": [
    {"name": "spend", "type": "budget", "limit": 100, "window": "daily"}]}  # fmt: skip
HI = [{"role": "user", "content": "Hi"}]
KINDS = ["chat", "responses", "anthropic", "anthropic-helper"]
ABUSES = ["exhaust", "break", "close-unread", "with-partial", "gc-unclosed", "error-midway"]
VARIANTS = [
    (kind, mode, abuse)
    for kind in KINDS
    for mode in ("sync", "async")
    for abuse in ABUSES
    if not (kind == "anthropic-helper" and abuse in ("close-unread", "gc-unclosed", "break"))
    # the Responses SDK yields an ``error`` event as an item instead of raising
    and not (kind == "responses" and abuse == "error-midway")
]


@pytest.fixture
def governed(make_genops: Any, caplog: pytest.LogCaptureFixture) -> Iterator[genops.GenOps]:
    runtime = make_genops(policy=build_engine(DOC))
    handles = [genops_native.instrument_openai(), genops_native.instrument_anthropic()]
    with caplog.at_level(logging.WARNING, logger="opentelemetry.sdk.trace"):
        yield runtime
    for handle in handles:
        handle.uninstrument()
    assert not [r for r in caplog.records if "ended span" in r.getMessage()]


def error_body(kind: str) -> bytes:
    """A stream that breaks off with a provider error after its first text."""
    if kind == "chat":
        return wire.chat_stream("gpt-4o-mini", ["Hel"], None).replace(
            b"data: [DONE]", b'data: {"error": {"message": "overloaded", "type": "server_error"}}'
        )
    body = wire.message_stream("claude-sonnet-4-6", ["Hel"], None)
    return body.split(b"event: message_delta")[0] + (
        b'event: error\ndata: {"type": "error", "error": '
        b'{"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    )


def open_stream(kind: str, client: Any) -> Any:
    if kind == "chat":
        return client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
    if kind == "responses":
        return client.responses.create(model="gpt-4o-mini", input="Hi", stream=True)
    if kind == "anthropic":
        return client.messages.create(
            model="claude-sonnet-4-6", max_tokens=32, messages=HI, stream=True
        )
    return client.messages.stream(model="claude-sonnet-4-6", max_tokens=32, messages=HI)


def abuse_sync(kind: str, abuse: str, client: Any) -> None:
    errors = (openai.APIError, anthropic.APIError)
    if kind == "anthropic-helper":
        with open_stream(kind, client) as helper:
            if abuse == "with-partial":
                next(iter(helper))
                return
            try:
                list(helper)
            except errors:
                assert abuse == "error-midway"
        return
    stream = open_stream(kind, client)
    if abuse in ("exhaust", "error-midway"):
        try:
            list(stream)
        except errors:
            assert abuse == "error-midway"
    elif abuse == "break":
        for _ in stream:
            break
    elif abuse == "close-unread":
        stream.close()
    elif abuse == "with-partial":
        with stream:
            next(iter(stream))
    elif abuse == "gc-unclosed":
        next(iter(stream))
    del stream


async def abuse_async(kind: str, abuse: str, client: Any) -> None:
    errors = (openai.APIError, anthropic.APIError)
    if kind == "anthropic-helper":
        async with open_stream(kind, client) as helper:
            if abuse == "with-partial":
                await helper.__aiter__().__anext__()
                return
            try:
                _ = [e async for e in helper]
            except errors:
                assert abuse == "error-midway"
        return
    stream = await open_stream(kind, client)
    if abuse in ("exhaust", "error-midway"):
        try:
            _ = [c async for c in stream]
        except errors:
            assert abuse == "error-midway"
    elif abuse == "break":
        async for _ in stream:
            break
    elif abuse == "close-unread":
        await stream.close()
    elif abuse == "with-partial":
        async with stream:
            await stream.__aiter__().__anext__()
    elif abuse == "gc-unclosed":
        await stream.__aiter__().__anext__()
    del stream


@pytest.mark.parametrize(("kind", "mode", "abuse"), VARIANTS, ids=["-".join(v) for v in VARIANTS])
async def test_one_span_per_abused_stream_nothing_reserved(
    governed: genops.GenOps,
    telemetry: Telemetry,
    fake: FakeProvider,
    make_openai: Any,
    make_anthropic: Any,
    kind: str,
    mode: str,
    abuse: str,
) -> None:
    if abuse == "error-midway":
        fake.script(Reply.sse(error_body(kind)))
    is_async = mode == "async"
    client = (
        make_openai(async_=is_async)
        if kind in ("chat", "responses")
        else make_anthropic(async_=is_async)
    )
    if is_async:
        await abuse_async(kind, abuse, client)
    else:
        abuse_sync(kind, abuse, client)
    if abuse == "gc-unclosed":
        gc.collect()  # the only variant that needs the collector (slow on a big heap)
    for _ in range(3):
        await asyncio.sleep(0)  # asyncio closes abandoned async generators on later turns
    spans = telemetry.spans()
    assert len(spans) == 1, [s.name for s in spans]
    (span,) = spans
    assert [e.name for e in span.events].count(A.EVENT_BUDGET_RECONCILIATION) == 1
    if abuse == "error-midway":
        assert span.status.status_code.name == "ERROR"
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    assert engine.budget_status("spend").reserved == 0


def test_the_matrix_covers_at_least_31_variants() -> None:
    assert len(VARIANTS) >= 31
