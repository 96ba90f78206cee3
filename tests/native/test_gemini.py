"""Google Gen AI SDK (google-genai): the recorded Vertex AI responses replayed through the
real SDK, and the Gemini API on a loopback server (known host redirected, and a gateway
base URL), sync / async / streamed / embeddings, policy before the request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import genai_prices
import google.oauth2.credentials
import pytest
import vcr
from google import genai
from google.genai import errors, types

import genops
import genops_native
from genops import attributes as A
from genops.policy.rules import ContentPolicy
from tests.fakes.gemini import GeminiServer, to_loopback
from tests.native.prices import reference_cost
from tests.native.spans import check_unit_span

CASSETTES = (Path(__file__).resolve().parents[2] / "../shared/fixtures/cassettes/gemini").resolve()
REPLAY = vcr.VCR(record_mode="none", match_on=["method", "path"])
PROMPT = "Create a poem about Open Telemetry."
HOST = "generativelanguage.googleapis.com"
MODEL = "gemini-2.5-flash"


@pytest.fixture
def gemini(runtime: genops.GenOps) -> Iterator[genops.GenOps]:
    handle = genops_native.instrument_gemini()
    yield runtime
    handle.uninstrument()


@pytest.fixture
def server() -> Iterator[GeminiServer]:
    with GeminiServer() as running:
        yield running


def _vertex() -> genai.Client:
    return genai.Client(
        vertexai=True,
        project="test-project",
        location="test-location",
        credentials=google.oauth2.credentials.Credentials(token="test-token"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(api_version="v1beta1"),
    )


def _client(server: GeminiServer, gateway: bool = False) -> genai.Client:
    """The Gemini API at its real host (bytes go to the loopback server), or a gateway URL."""
    if gateway:
        options = types.HttpOptions(base_url=server.url, api_version="v1beta")
    else:
        options = types.HttpOptions(
            httpx_client=to_loopback(server.url),
            httpx_async_client=to_loopback(server.url, async_=True),
        )
    return genai.Client(api_key="test-key", http_options=options)


@pytest.mark.skipif(not CASSETTES.is_dir(), reason=f"no cassettes at {CASSETTES}")
@pytest.mark.parametrize("stream", [False, True], ids=["generate", "stream"])
def test_vertex_cassette(gemini: genops.GenOps, telemetry: Any, stream: bool) -> None:
    kind = "streaming" if stream else "non_streaming"
    client = _vertex()
    with REPLAY.use_cassette(str(CASSETTES / f"test_{kind}_gemini-2.5-flash_vertexai_sync.yaml")):
        if stream:
            chunks = list(client.models.generate_content_stream(model=MODEL, contents=PROMPT))
            assert len(chunks) > 1
        else:
            assert client.models.generate_content(model=MODEL, contents=PROMPT).text
    (span,) = telemetry.spans()
    attrs = dict(span.attributes or {})
    # What Vertex recorded: thoughts are output tokens (and reasoning tokens).
    usage = (
        genops.Usage(8, 388 + 2193, reasoning_tokens=2193)
        if stream
        else genops.Usage(8, 433 + 1477, reasoning_tokens=1477)
    )
    assert attrs["cloud.region"] == "test-location"
    check_unit_span(
        _without(span, "cloud.region"),  # Vertex's location; the rest is the common check
        provider="gcp.vertex_ai",
        model=MODEL,
        op_name="gemini.generate_content_stream" if stream else "gemini.generate_content",
        host="test-location-aiplatform.googleapis.com",
        stream=stream,
        response_model=MODEL,
        response_id=attrs[A.GEN_AI_RESPONSE_ID],
        usage=usage,
        cost=reference_cost("google", MODEL, usage),
        finish_reasons=["stop"],
        first_chunk=stream,
    )  # fmt: skip


@pytest.mark.parametrize("gateway", [False, True], ids=["known-host", "gateway"])
async def test_gemini_api_sync_async_stream_and_embeddings(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer, gateway: bool
) -> None:
    server.usage = {
        "promptTokenCount": 1200,
        "cachedContentTokenCount": 1000,
        "candidatesTokenCount": 30,
        "thoughtsTokenCount": 20,
    }
    client = _client(server, gateway)
    config = types.GenerateContentConfig(max_output_tokens=64)
    assert client.models.generate_content(model=MODEL, contents="hi", config=config).text
    assert (
        "".join(
            c.text or "" for c in client.models.generate_content_stream(model=MODEL, contents="hi")
        )
        == "Traces and metrics agree."
    )
    assert (await client.aio.models.generate_content(model=f"models/{MODEL}", contents="hi")).text
    stream = await client.aio.models.generate_content_stream(model=MODEL, contents=["a", "b"])
    assert [c.text async for c in stream] == ["Traces ", "and metrics ", "agree."]
    embedded = client.models.embed_content(model="gemini-embedding-001", contents=["x", "y"])
    assert len(embedded.embeddings or []) == 2
    assert len(server.requests) == 5
    usage = genops.Usage(1200, 50, cache_read_tokens=1000, reasoning_tokens=20)
    cost = reference_cost("google", MODEL, usage)
    assert cost > 0
    host, port = ("127.0.0.1", int(server.url.rsplit(":", 1)[1])) if gateway else (HOST, 443)
    spans = telemetry.spans()
    assert len(spans) == 5
    for i, (span, stream_call) in enumerate(
        zip(spans[:4], (False, True, False, True), strict=True)
    ):
        attrs = span.attributes
        if gateway:  # a gateway host: gcp.gemini because the SDK speaks Gemini and it prices it
            assert attrs[A.PROVIDER_SOURCE] == "wire_family"
            span = _without(span, A.PROVIDER_SOURCE)
        check_unit_span(
            span,
            provider="gcp.gemini",
            model=MODEL,
            op_name="gemini.generate_content_stream" if stream_call else "gemini.generate_content",
            host=host,
            port=port,
            stream=stream_call,
            max_tokens=64 if i == 0 else None,
            response_model=MODEL,
            response_id="resp-gemini-1",
            usage=usage,
            cost=cost,
            finish_reasons=["stop"],
            first_chunk=stream_call,
        )
    embed = spans[4]
    assert embed.name == "embeddings gemini-embedding-001"
    assert embed.attributes[A.OPERATION_NAME] == "gemini.embed_content"
    assert embed.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert embed.attributes[A.COST_TOTAL] == float(
        reference_cost("google", "gemini-embedding-001", genops.Usage(8, 0))
    )


def _without(span: Any, *keys: str) -> Any:
    return span.__class__(
        name=span.name,
        context=span.context,
        kind=span.kind,
        events=span.events,
        attributes={k: v for k, v in (span.attributes or {}).items() if k not in keys},
    )


async def test_blocked_call_sends_nothing(
    make_genops: Any, telemetry: Any, server: GeminiServer
) -> None:
    make_genops(
        policy={
            "version": 1,
            "policies": [
                {"name": "flash-only", "enforcement": "BLOCKED", "type": "allowed_models",
                 "models": ["gemini-2.5-flash-lite"]},
            ],
        }
    )  # fmt: skip
    handle = genops_native.instrument_gemini()
    client = _client(server)
    with pytest.raises(genops.PolicyViolationError) as raised:
        client.models.generate_content(model=MODEL, contents="hi")
    with pytest.raises(genops.PolicyViolationError):
        list(client.models.generate_content_stream(model=MODEL, contents="hi"))
    with pytest.raises(genops.PolicyViolationError):
        await client.aio.models.generate_content(model=MODEL, contents="hi")
    handle.uninstrument()
    assert server.requests == []
    assert raised.value.decision.reason_code == "POLICY_DENY_MODEL"
    assert [s.attributes[A.POLICY_RESULT] for s in telemetry.spans()] == ["BLOCKED"] * 3


def test_vertex_region_policy_blocks(make_genops: Any, telemetry: Any) -> None:
    make_genops(
        policy={
            "version": 1,
            "policies": [
                {"name": "eu", "enforcement": "BLOCKED", "type": "allowed_regions",
                 "regions": ["europe-*"]},
            ],
        }
    )  # fmt: skip
    handle = genops_native.instrument_gemini()
    with REPLAY.use_cassette(
        str(CASSETTES / "test_non_streaming_gemini-2.5-flash_vertexai_sync.yaml")
    ) as tape:
        with pytest.raises(genops.PolicyViolationError) as raised:
            _vertex().models.generate_content(model=MODEL, contents=PROMPT)
        assert tape.play_count == 0
    handle.uninstrument()
    assert raised.value.decision.reason_code == "POLICY_DENY_REGION"


def test_redaction_and_covering_unit(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    secret = "write to jane.doe@example.com"
    client = _client(server)
    contents = [types.Content(role="user", parts=[types.Part(text=secret)])]
    with genops.governed("draft-reply", provider="gcp.gemini", model=MODEL) as unit:
        client.models.generate_content(
            model=MODEL,
            contents=contents,
            config=types.GenerateContentConfig(system_instruction=secret),
        )
        assert unit.usage == genops.Usage(12, 7)
    body = server.requests[0][1]
    assert body["contents"][0]["parts"][0]["text"] == "write to [REDACTED:email]"
    assert body["systemInstruction"]["parts"][0]["text"] == "write to [REDACTED:email]"
    assert contents[0].parts and contents[0].parts[0].text == secret  # caller's object intact
    (span,) = telemetry.spans()  # no second cost-bearing span
    assert span.attributes[A.OPERATION_NAME] == "draft-reply"
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 12
    client.models.embed_content(model="gemini-embedding-001", contents=[secret])
    embedded = server.requests[1][1]["requests"][0]["content"]["parts"][0]["text"]
    assert embedded == "write to [REDACTED:email]"


def test_provider_error_ends_unit_and_reraises(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    server.fail = 429
    with pytest.raises(errors.ClientError):
        _client(server).models.generate_content(model=MODEL, contents="hi")
    (span,) = telemetry.spans()
    assert span.attributes[A.ERROR_TYPE] == "google.genai.errors.ClientError"
    assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0


def test_long_context_tier_priced_like_genai_prices(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    """gemini-2.5-pro costs more per token past 200k prompt tokens."""
    server.usage = {"promptTokenCount": 250_000, "candidatesTokenCount": 1_000}
    server.model = "gemini-2.5-pro"
    _client(server).models.generate_content(model="gemini-2.5-pro", contents="long")
    (span,) = telemetry.spans()
    expected = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=250_000, output_tokens=1_000),
        "gemini-2.5-pro",
        provider_id="google",
    ).total_price
    short = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=100_000, output_tokens=1_000),
        "gemini-2.5-pro",
        provider_id="google",
    ).total_price
    assert expected > short * Decimal("2.5")  # the higher tier applies to the whole prompt
    assert span.attributes[A.COST_TOTAL] == float(expected)


def test_automatic_function_calling_is_one_unit_per_request(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    """generate_content with a Python tool sends two requests (call → tool → answer)."""
    calls: list[str] = []

    def weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return "sunny"

    response = _client(server).models.generate_content(
        model=MODEL,
        contents="Weather in Paris?",
        config=types.GenerateContentConfig(tools=[weather]),
    )
    assert response.text == "Traces and metrics agree." and calls == ["Paris"]
    assert len(server.requests) == 2
    spans = telemetry.spans()
    assert [s.attributes[A.OPERATION_NAME] for s in spans] == ["gemini.generate_content"] * 2
    cost = reference_cost("google", MODEL, genops.Usage(12, 7))
    assert [s.attributes[A.COST_TOTAL] for s in spans] == [float(cost)] * 2


def test_content_capture_records_prompt_and_answer(
    make_genops: Any, telemetry: Any, server: GeminiServer
) -> None:
    make_genops(capture_content=True)
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    handle = genops_native.instrument_gemini()
    text = "hello jane.doe@example.com"
    contents = [types.Content(role="user", parts=[types.Part(text=text)])]
    _client(server).models.generate_content(model=MODEL, contents=contents)
    handle.uninstrument()
    (span,) = telemetry.spans()
    assert json.loads(span.attributes[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"text": "hello [REDACTED:email]"}]}
    ]
    assert "Traces and metrics agree." in str(span.attributes[A.GEN_AI_OUTPUT_MESSAGES])


async def test_one_client_only(
    runtime: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    mine, other = _client(server), _client(server)
    handle = genops_native.instrument_gemini(mine)
    assert genops_native.instrument_gemini(mine) is handle  # idempotent
    mine.models.generate_content(model=MODEL, contents="hi")
    await mine.aio.models.generate_content(model=MODEL, contents="hi")
    other.models.generate_content(model=MODEL, contents="hi")
    handle.uninstrument()
    mine.models.generate_content(model=MODEL, contents="hi")
    assert len(server.requests) == 4
    assert [s.attributes[A.OPERATION_NAME] for s in telemetry.spans()] == [
        "gemini.generate_content"
    ] * 2


def test_vertex_embeddings_count_tokens_from_statistics(
    gemini: genops.GenOps, telemetry: Any, server: GeminiServer
) -> None:
    """Vertex's text-embedding predict response has no usage_metadata: the per-embedding
    ``statistics.token_count`` values are the input tokens."""
    client = genai.Client(
        vertexai=True,
        project="p",
        location="europe-west4",
        credentials=google.oauth2.credentials.Credentials(token="t"),  # type: ignore[no-untyped-call]
        http_options=types.HttpOptions(httpx_client=to_loopback(server.url)),
    )
    client.models.embed_content(model="text-embedding-005", contents=["a", "b"])
    assert server.requests[0][0].endswith("/models/text-embedding-005:predict")
    (span,) = telemetry.spans()
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert attrs["cloud.region"] == "europe-west4"
    assert attrs[A.SERVER_ADDRESS] == "europe-west4-aiplatform.googleapis.com"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 6
    assert A.ACCOUNTING_INCOMPLETE not in attrs
