"""Real recorded provider responses replayed through the real SDK clients (vcrpy, no network).

The request of each cassette is replayed as recorded (its JSON body becomes the call's
arguments); the spans must carry the tokens, cache/reasoning tokens, response model and
the genai-prices cost of what the provider really sent.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import vcr
import yaml

import genops
from genops import attributes as A
from tests.native.prices import reference_cost

CASSETTES = (Path(__file__).resolve().parents[2] / "../shared/fixtures/cassettes").resolve()
pytestmark = pytest.mark.skipif(
    not CASSETTES.is_dir(), reason=f"recorded cassettes not found at {CASSETTES}"
)
REPLAY = vcr.VCR(record_mode="none", match_on=["method", "path"], decode_compressed_response=True)


def _bodies(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((CASSETTES / name).read_text())
    return [json.loads(i["request"]["body"]) for i in data["interactions"]]


# (cassette, async, expected usage per span, response model)
OPENAI_CASES = [
    ("openai/test_chat_completion_with_content.yaml", False, [genops.Usage(12, 5)], "gpt-4o-mini-2024-07-18"),
    ("openai/test_chat_completion_streaming.yaml", False, [genops.Usage(12, 5)], "gpt-4-0613"),
    ("openai/test_async_chat_completion_streaming.yaml", True, [genops.Usage(12, 5)], "gpt-4-0613"),
    ("openai/test_chat_completion_tool_calls_with_content.yaml", False, [genops.Usage(75, 51), genops.Usage(99, 25)], "gpt-4o-mini-2024-07-18"),
    ("openai/test_chat_completion_multiple_tools_streaming_with_content.yaml", False, [genops.Usage(75, 51)], "gpt-4o-mini-2024-07-18"),
    ("openai/test_embeddings_with_batch_input.yaml", False, [genops.Usage(24, 0)], "text-embedding-3-small"),
    ("openai/test_responses_create_basic_content_mode0.yaml", False, [genops.Usage(22, 6)], "gpt-4o-mini-2024-07-18"),
    ("openai/test_responses_create_aggregates_cache_tokens_content_mode0.yaml", False, [genops.Usage(22, 6)], "gpt-4o-mini-2024-07-18"),
    ("openai/test_responses_create_reports_reasoning_tokens_content_mode0.yaml", False, [genops.Usage(44, 288, reasoning_tokens=9)], "gpt-5.4-2026-03-05"),
    ("openai/test_responses_create_streaming_content_mode0.yaml", False, [None], "gpt-4o-mini-2024-07-18"),
]  # fmt: skip


async def _openai_call(client: Any, path: str, body: dict[str, Any]) -> None:
    if path.endswith("embeddings.yaml") or "embeddings" in path:
        result = client.embeddings.create(**body)
    elif "/test_responses" in path:
        result = client.responses.create(**body)
    else:
        result = client.chat.completions.create(**body)
    if asyncio.iscoroutine(result):
        result = await result
    if body.get("stream"):
        if hasattr(result, "__aiter__"):
            _ = [c async for c in result]
        else:
            _ = list(result)


@pytest.mark.parametrize(
    ("cassette", "async_", "usages", "response_model"),
    OPENAI_CASES,
    ids=[c[0].split("/")[1].removesuffix(".yaml") for c in OPENAI_CASES],
)
async def test_openai_cassette(
    native: genops.GenOps,
    telemetry: Any,
    cassette: str,
    async_: bool,
    usages: list[genops.Usage | None],
    response_model: str,
) -> None:
    client = (openai.AsyncOpenAI if async_ else openai.OpenAI)(
        api_key="test_openai_api_key", max_retries=0
    )
    with REPLAY.use_cassette(str(CASSETTES / cassette)) as tape:
        for body in _bodies(cassette):
            await _openai_call(client, cassette, body)
        assert tape.all_played
    spans = telemetry.spans()
    assert len(spans) == len(usages)
    for span, usage in zip(spans, usages, strict=True):
        attrs = span.attributes
        assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
        assert attrs[A.GEN_AI_RESPONSE_MODEL] == response_model
        if usage is None:  # streamed Responses: read from the real response.completed event
            usage = genops.Usage(
                attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]
            )
            assert usage.input_tokens > 0 and usage.output_tokens > 0
            assert attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens
        assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.output_tokens
        assert attrs.get(A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, 0) == usage.reasoning_tokens
        assert attrs[A.COST_TOTAL] == float(reference_cost("openai", response_model, usage))
        assert attrs[A.ACCOUNTING_ACTUAL] == attrs[A.COST_TOTAL]
        assert A.ACCOUNTING_INCOMPLETE not in attrs


def test_openai_404_cassette(native: genops.GenOps, telemetry: Any) -> None:
    name = "openai/test_chat_completion_404.yaml"
    client = openai.OpenAI(api_key="test_openai_api_key", max_retries=0)
    with REPLAY.use_cassette(str(CASSETTES / name)), pytest.raises(openai.NotFoundError):
        client.chat.completions.create(**_bodies(name)[0])
    (span,) = telemetry.spans()
    assert span.attributes[A.ERROR_TYPE] == "openai.NotFoundError"
    assert span.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0


CLAUDE = "claude-sonnet-4-20250514"
ANTHROPIC_CASES = [
    ("anthropic/test_sync_messages_create_basic.yaml", "create", genops.Usage(13, 5)),
    ("anthropic/test_sync_messages_create_aggregates_cache_tokens.yaml", "create", genops.Usage(13, 5)),
    ("anthropic/test_sync_messages_create_captures_thinking_content.yaml", "create", genops.Usage(46, 417)),
    ("anthropic/test_sync_messages_create_captures_tool_use_content.yaml", "create", genops.Usage(386, 34)),
    ("anthropic/test_sync_messages_create_streaming.yaml", "create", genops.Usage(13, 5)),
    ("anthropic/test_sync_messages_create_streaming_aggregates_cache_tokens.yaml", "create", genops.Usage(13, 5)),
    ("anthropic/test_sync_messages_stream.yaml", "stream", genops.Usage(13, 5)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cassette", "method", "usage"),
    ANTHROPIC_CASES,
    ids=[c[0].split("/")[1].removesuffix(".yaml") for c in ANTHROPIC_CASES],
)
def test_anthropic_cassette(
    native: genops.GenOps, telemetry: Any, cassette: str, method: str, usage: genops.Usage
) -> None:
    client = anthropic.Anthropic(api_key="test_anthropic_api_key", max_retries=0)
    (body,) = _bodies(cassette)
    with REPLAY.use_cassette(str(CASSETTES / cassette)) as tape:
        if method == "stream":
            body.pop("stream")
            with client.messages.stream(**body) as stream:
                text = stream.get_final_text()
            assert text
        else:
            result = client.messages.create(**body)
            if body.get("stream"):
                _ = list(result)
        assert tape.all_played
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == CLAUDE
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == body["max_tokens"]
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.output_tokens
    assert attrs[A.COST_TOTAL] == float(reference_cost("anthropic", CLAUDE, usage))
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == (
        ("tool_use",) if "tool_use" in cassette else ("end_turn",)
    )


def test_anthropic_api_error_cassette(native: genops.GenOps, telemetry: Any) -> None:
    name = "anthropic/test_sync_messages_create_api_error.yaml"
    client = anthropic.Anthropic(api_key="test_anthropic_api_key", max_retries=0)
    with REPLAY.use_cassette(str(CASSETTES / name)), pytest.raises(anthropic.NotFoundError):
        client.messages.create(**_bodies(name)[0])
    (span,) = telemetry.spans()
    assert span.attributes[A.ERROR_TYPE] == "anthropic.NotFoundError"
    assert span.attributes[A.COST_UNKNOWN] is True  # an unknown model: no price, not $0


def test_anthropic_stream_closed_early_keeps_recorded_input_tokens(
    native: genops.GenOps, telemetry: Any
) -> None:
    """A real recorded stream, closed by the caller after its first text delta."""
    name = "anthropic/test_sync_messages_stream.yaml"
    client = anthropic.Anthropic(api_key="test_anthropic_api_key", max_retries=0)
    (body,) = _bodies(name)
    body.pop("stream")
    with REPLAY.use_cassette(str(CASSETTES / name)), client.messages.stream(**body) as stream:
        for event in stream:
            if event.type == "content_block_delta":
                break
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 13  # from the recorded message_start
    assert 1 <= attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] < 5  # seen so far, not the final 5
    assert attrs[A.USAGE_ESTIMATED] is True
    usage = genops.Usage(13, attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS])
    assert attrs[A.COST_TOTAL] == float(reference_cost("anthropic", CLAUDE, usage))
