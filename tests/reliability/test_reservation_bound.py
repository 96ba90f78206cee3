"""Finding 8: the reservation's input side is an upper bound of what the provider
bills. Every recorded cassette (real OpenAI, Anthropic and Bedrock responses) is
replayed through the real SDK under a tokens budget; the input tokens reserved are at
least the input tokens the provider reported — tool definitions, Anthropic's tool-use
system prompt and the chat template included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from genops.policy.loader import build_engine
from tests.native import test_bedrock as bedrock_cases
from tests.native import test_cassettes as cases

LIMIT = 10**9
TOKENS = {"version": 1, "policies": [
    {"name": "tokens", "type": "budget", "unit": "tokens", "limit": LIMIT, "window": "daily"}]}  # fmt: skip
DEFAULT_MAX_OUTPUT = 4096


@pytest.fixture
def governed(make_genops: Any) -> Iterator[genops.GenOps]:
    runtime = make_genops(policy=build_engine(TOKENS))
    handles = [
        genops_native.instrument_openai(),
        genops_native.instrument_anthropic(),
        genops_native.instrument_bedrock(),
    ]
    yield runtime
    for handle in handles:
        handle.uninstrument()


def reserved_tokens(spans: list[Any]) -> list[int]:
    """Tokens each unit reserved: the tokens budget's remaining figure before it (the
    previous unit's settled ``genops.budget.remaining``) less the one its reservation
    event reports."""
    out, before = [], float(LIMIT)
    for span in spans:
        (event,) = [e for e in span.events if e.name == A.EVENT_BUDGET_RESERVATION]
        out.append(round(before - dict(event.attributes or {})[A.BUDGET_REMAINING]))
        before = dict(span.attributes or {})[A.BUDGET_REMAINING]
    return out


def max_output(span: Any) -> int:
    attrs = dict(span.attributes or {})
    if attrs.get(A.GEN_AI_OPERATION_NAME) == "embeddings":
        return 0
    return int(attrs.get(A.GEN_AI_REQUEST_MAX_TOKENS, DEFAULT_MAX_OUTPUT))


def billed_input(span: Any) -> int:
    attrs = dict(span.attributes or {})
    return (
        int(attrs[A.GEN_AI_USAGE_INPUT_TOKENS])
        + int(attrs.get(A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0))
        + int(attrs.get(A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, 0))
    )


def assert_bounded(spans: list[Any]) -> None:
    assert spans
    for span, reserved in zip(spans, reserved_tokens(spans), strict=True):
        assert reserved - max_output(span) >= billed_input(span) > 0, span.name


@pytest.mark.parametrize("cassette", [c[0] for c in cases.OPENAI_CASES])
async def test_openai_cassettes(governed: genops.GenOps, telemetry: Any, cassette: str) -> None:
    async_ = "async" in cassette
    client = (openai.AsyncOpenAI if async_ else openai.OpenAI)(
        api_key="test_openai_api_key", max_retries=0
    )
    with cases.REPLAY.use_cassette(str(cases.CASSETTES / cassette)):
        for body in cases._bodies(cassette):
            await cases._openai_call(client, cassette, body)
    assert_bounded(telemetry.spans())


@pytest.mark.parametrize("cassette", [c[0] for c in cases.ANTHROPIC_CASES])
def test_anthropic_cassettes(governed: genops.GenOps, telemetry: Any, cassette: str) -> None:
    client = anthropic.Anthropic(api_key="test_anthropic_api_key", max_retries=0)
    (body,) = cases._bodies(cassette)
    with cases.REPLAY.use_cassette(str(cases.CASSETTES / cassette)):
        if "messages_stream" in cassette:
            body.pop("stream")
            with client.messages.stream(**body) as stream:
                stream.get_final_text()
        else:
            result = client.messages.create(**body)
            if body.get("stream"):
                _ = list(result)
    assert_bounded(telemetry.spans())


@pytest.mark.parametrize("cassette", [c[0] for c in bedrock_cases.CASES])
def test_bedrock_cassettes(governed: genops.GenOps, telemetry: Any, cassette: str) -> None:
    client = bedrock_cases._client()
    with bedrock_cases.REPLAY.use_cassette(str(bedrock_cases.CASSETTES / cassette)):
        for op, model, body in bedrock_cases._requests(cassette):
            bedrock_cases._send(client, op, model, body)
    assert_bounded(telemetry.spans())


def test_the_bound_counts_what_a_tokenizer_can_see() -> None:
    """Byte-level BPE: a token is at least one byte, so bytes bound tokens; multi-byte
    text counts its UTF-8 bytes; inline images are not text (settled, not bounded)."""
    from genops.adapter import input_token_bound

    plain = input_token_bound([{"role": "user", "content": "hi"}])
    assert plain == 16 + len('[{"role":"user","content":"hi"}]')  # compact JSON + 16
    assert input_token_bound(["日本"]) == 16 + len('[""]') + 6  # 3 UTF-8 bytes a character
    image = {"type": "image", "source": {"type": "base64", "data": "A" * 100_000}}
    assert input_token_bound([image]) < 100
    estimate = genops.RequestEstimate(texts=["héllo"])
    assert estimate.input_token_estimate() == 6 + 4
    assert estimate.typical_input_tokens() == 2 + 4  # what an unreported usage is charged


def test_langchain_chat_openai_with_tools(make_genops: Any, telemetry: Any) -> None:
    """LangChain owns the reservation of a ChatOpenAI call (genops-native underneath
    consumes its claim): it counts the messages, tool calls and bound tools too. The
    provider bills the byte-level worst case of what the SDK really sent."""
    import httpx
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    from genops.adapter import payload_texts
    from genops_langchain import GenOpsCallbackHandler
    from tests.fakes import wire
    from tests.langchain.conftest import native_chat_openai

    @tool
    def get_weather(city: str, unit: str = "celsius") -> str:
        """Current weather of a city (°C or °F) — Zürich, 東京, São Paulo."""
        return "sunny"

    def worst_case(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        texts = payload_texts(body["messages"]) + payload_texts(body.get("tools"))
        billed = 3 + 4 * len(body["messages"]) + sum(len(t.encode()) for t in texts)
        usage = wire.chat_usage(billed, 5)
        return httpx.Response(200, json=wire.chat_completion("gpt-4o-mini", usage=usage))

    make_genops(policy=build_engine(TOKENS))
    history = [
        HumanMessage("Wie ist das Wetter in Zürich? 東京は?"),
        AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Zürich"}, "id": "c1"}]),
        ToolMessage("sonnig, 21 °C", tool_call_id="c1"),
    ]
    with native_chat_openai(worst_case, max_tokens=16) as chat:
        chat.bind_tools([get_weather]).invoke(
            history, config={"callbacks": [GenOpsCallbackHandler()]}
        )
    assert_bounded(telemetry.spans())
