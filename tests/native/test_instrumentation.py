"""Enabling: genops.init() entry points on the real SDK classes, scopes, idempotency, undo."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

import genops
import genops_native
from genops import _safety
from genops import attributes as A
from genops.integrations import available
from tests.fakes.provider import FakeProvider

MESSAGES = [{"role": "user", "content": "Hi"}]
CLAUDE = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": MESSAGES}


def test_init_enables_both_sdks_through_entry_points(
    make_genops: Any, telemetry: Any, make_openai: Any, make_anthropic: Any
) -> None:
    assert {"openai", "anthropic"} <= set(available())
    rt = make_genops(instrument=True)
    names = {item.name for item in rt.integrations}
    assert {"openai", "anthropic"} <= names
    # the real SDK classes are patched (not a cached_property, not a mock)
    create = openai.resources.chat.completions.Completions.create
    assert create.__genops_original__ is not None
    assert anthropic.resources.messages.Messages.stream.__genops_original__ is not None
    make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    make_anthropic().messages.create(**CLAUDE)
    assert [s.name for s in telemetry.spans()] == ["chat gpt-4o-mini", "chat claude-sonnet-4-6"]
    genops.shutdown()  # disables the integrations: the SDK is restored
    assert not hasattr(openai.resources.chat.completions.Completions.create, "__genops_original__")
    assert not hasattr(anthropic.resources.messages.Messages.create, "__genops_original__")


def test_idempotent_and_undoable(runtime: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    original = openai.resources.chat.completions.Completions.__dict__["create"]
    first = genops_native.instrument_openai()
    again = genops_native.instrument_openai()
    assert again is first
    make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1  # patched once, one span
    first.uninstrument()
    first.uninstrument()
    assert openai.resources.chat.completions.Completions.__dict__["create"] is original
    make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1
    assert genops_native.instrument_openai() is not first  # can be enabled again
    genops_native.instrument_openai().uninstrument()


def test_one_client_only(runtime: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    governed, other = make_openai(), make_openai()
    handle = genops_native.instrument_openai(governed)
    assert genops_native.instrument_openai(governed) is handle
    assert "Completions.create" in handle.patched
    try:
        other.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert telemetry.spans() == []
        governed.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        governed.embeddings.create(model="text-embedding-3-small", input="x")
        assert len(telemetry.spans()) == 2
    finally:
        handle.uninstrument()
    governed.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 2


async def test_client_class_scope(runtime: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    handle = genops_native.instrument_openai(openai.AsyncOpenAI)
    try:
        assert all(name.startswith("Async") for name in handle.patched)
        make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert telemetry.spans() == []
        await make_openai(async_=True).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
        assert len(telemetry.spans()) == 1
    finally:
        handle.uninstrument()
    with pytest.raises(TypeError):
        genops_native.instrument_openai(dict)


def test_client_and_class_instrumented_give_one_span(
    native: genops.GenOps, telemetry: Any, make_openai: Any
) -> None:
    client = make_openai()
    handle = genops_native.instrument_openai(client)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        handle.uninstrument()
    assert len(telemetry.spans()) == 1


def test_content_capture_is_opt_in_and_redacted(
    make_genops: Any, telemetry: Any, make_openai: Any
) -> None:
    from genops.policy.rules import ContentPolicy

    make_genops(capture_content=True)
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    handle = genops_native.instrument_openai()
    try:
        make_openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "I am x@y.example.com"}]
        )
    finally:
        handle.uninstrument()
    (span,) = telemetry.spans()
    inputs = json.loads(span.attributes[A.GEN_AI_INPUT_MESSAGES])
    assert inputs == [{"role": "user", "content": "I am [REDACTED:email]"}]
    outputs = json.loads(span.attributes[A.GEN_AI_OUTPUT_MESSAGES])
    assert outputs == [{"role": "assistant", "content": "Hello!"}]


def test_no_content_by_default(native: genops.GenOps, telemetry: Any, make_openai: Any) -> None:
    make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (span,) = telemetry.spans()
    assert A.GEN_AI_INPUT_MESSAGES not in span.attributes
    assert A.GEN_AI_OUTPUT_MESSAGES not in span.attributes


def test_internal_error_never_breaks_the_call(
    runtime: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    """The generic wrapper with an adapter that fails: the call goes on, the bug is counted."""
    from genops_native._call import wrap_method
    from genops_native._endpoint import Options
    from genops_native._openai import CHAT

    def broken(kwargs: Any) -> Any:
        raise RuntimeError("adapter bug")

    create = openai.resources.chat.completions.Completions.create
    wrapper = wrap_method(
        create, CHAT._replace(read_request=broken), Options(), "openai", is_async=False
    )
    client = make_openai()
    with _safety.raise_internal_errors(False):
        result = wrapper(client.chat.completions, model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == "Hello!"
    assert fake.request_count == 1
    assert telemetry.spans() == []
    assert _safety.error_counts()["native request"] == 1
    with pytest.raises(RuntimeError, match="adapter bug"):  # under pytest bugs surface
        wrapper(client.chat.completions, model="gpt-4o-mini", messages=MESSAGES)
