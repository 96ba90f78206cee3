"""AWS Bedrock runtime through botocore's event hooks: the recorded Bedrock responses
(Converse, ConverseStream's event-stream framing, InvokeModel for Anthropic, Nova and
Llama bodies, InvokeModelWithResponseStream) replayed through a real boto3 client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import botocore.exceptions
import pytest
import vcr
import yaml

import genops
import genops_native
from genops import attributes as A
from tests.fakes.bedrock import bedrock_server
from tests.native.prices import reference_cost

CASSETTES = (Path(__file__).resolve().parents[2] / "../shared/fixtures/cassettes/bedrock").resolve()
pytestmark = pytest.mark.skipif(not CASSETTES.is_dir(), reason=f"no cassettes at {CASSETTES}")
REPLAY = vcr.VCR(record_mode="none", match_on=["method", "path"])


def _client(region: str = "us-east-1", **kwargs: Any) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        **kwargs,
    )


def _requests(name: str) -> list[tuple[str, str, str]]:
    """(operation path suffix, model id, raw body) of each recorded request."""
    data = yaml.safe_load((CASSETTES / name).read_text())
    out = []
    for item in data["interactions"]:
        _, model, op = item["request"]["uri"].rsplit("/", 2)
        out.append((op, unquote(model), item["request"]["body"]))
    return out


def _send(client: Any, op: str, model: str, body: str) -> Any:
    if op.startswith("converse"):
        params = json.loads(body)
        if op == "converse-stream":
            response = client.converse_stream(modelId=model, **params)
            return list(response["stream"])
        return client.converse(modelId=model, **params)
    if op == "invoke-with-response-stream":
        response = client.invoke_model_with_response_stream(modelId=model, body=body)
        return list(response["body"])
    return json.loads(client.invoke_model(modelId=model, body=body)["body"].read())


@pytest.fixture
def bedrock(runtime: genops.GenOps) -> Any:
    handle = genops_native.instrument_bedrock()  # what genops.init() does: new clients
    yield runtime
    handle.uninstrument()


# (cassette, genops.operation.name, usage per call, max_tokens, finish reasons)
CASES = [
    ("test_converse_with_content.yaml", "bedrock.converse", [genops.Usage(8, 10)], 10, ("max_tokens",)),
    ("test_converse_tool_call_with_content.yaml", "bedrock.converse", [genops.Usage(415, 190), genops.Usage(553, 59)], None, None),
    ("test_converse_stream_with_content.yaml", "bedrock.converse_stream", [None], 10, ("max_tokens",)),
    ("test_invoke_model_with_content_amazon.nova.yaml", "bedrock.invoke_model", [genops.Usage(5, 10)], 10, None),
    ("test_invoke_model_with_content_anthropic.claude.yaml", "bedrock.invoke_model", [genops.Usage(14, 10)], 10, None),
    ("test_invoke_model_with_content_meta.llama.yaml", "bedrock.invoke_model", [genops.Usage(5, 10)], 10, None),
    ("test_invoke_model_with_response_stream_with_content_anthropic.claude.yaml", "bedrock.invoke_model_stream", [None], 10, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cassette", "op_name", "usages", "max_tokens", "reasons"),
    CASES,
    ids=[c[0].removeprefix("test_").removesuffix(".yaml") for c in CASES],
)
def test_bedrock_cassette(
    bedrock: genops.GenOps,
    telemetry: Any,
    cassette: str,
    op_name: str,
    usages: list[genops.Usage | None],
    max_tokens: int | None,
    reasons: tuple[str, ...] | None,
) -> None:
    client = _client()
    requests = _requests(cassette)
    with REPLAY.use_cassette(str(CASSETTES / cassette)) as tape:
        for op, model, body in requests:
            assert _send(client, op, model, body)
        assert tape.all_played
    spans = telemetry.spans()
    assert len(spans) == len(usages) == len(requests)
    for span, usage, (_, model, _) in zip(spans, usages, requests, strict=True):
        attrs = span.attributes
        assert span.name == f"chat {model}"
        assert attrs[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
        assert attrs[A.OPERATION_NAME] == op_name
        assert attrs["cloud.region"] == "us-east-1"
        assert attrs[A.SERVER_ADDRESS] == "bedrock-runtime.us-east-1.amazonaws.com"
        assert attrs.get(A.GEN_AI_REQUEST_MAX_TOKENS) == max_tokens
        assert attrs[A.GEN_AI_REQUEST_STREAM] is op_name.endswith("stream")
        if usage is None:  # streamed: read from the recorded event-stream frames
            usage = genops.Usage(
                attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS]
            )
            assert usage.input_tokens > 0 and usage.output_tokens > 0
            assert attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == usage.input_tokens
        assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == usage.output_tokens
        if reasons is not None:
            assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == reasons
        if attrs.get(A.COST_UNKNOWN):  # genai-prices lists no price for this model id
            assert model in ("anthropic.claude-v2", "amazon.titan-text-lite-v1")
        else:
            assert attrs[A.COST_TOTAL] == float(reference_cost("aws", model, usage))
        assert A.ACCOUNTING_INCOMPLETE not in attrs


def test_bedrock_invalid_model_cassette(bedrock: genops.GenOps, telemetry: Any) -> None:
    ((op, model, body),) = _requests("test_converse_with_invalid_model.yaml")
    client = _client()
    with REPLAY.use_cassette(str(CASSETTES / "test_converse_with_invalid_model.yaml")):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            _send(client, op, model, body)
    (span,) = telemetry.spans()
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert span.attributes[A.ERROR_TYPE] == ERROR_TYPE
    assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0


def _count_sends(client: Any) -> list[Any]:
    sent: list[Any] = []
    client.meta.events.register("before-send.bedrock-runtime", lambda **kw: sent.append(kw))
    return sent


ERROR_TYPE = "botocore.errorfactory.ValidationException"
MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.mark.parametrize(
    ("policy", "region", "reason"),
    [
        ({"type": "allowed_models", "models": ["amazon.*"]}, "us-east-1", "POLICY_DENY_MODEL"),
        ({"type": "allowed_regions", "regions": ["us-*"]}, "eu-west-1", "POLICY_DENY_REGION"),
    ],
)
def test_blocked_bedrock_call_sends_nothing(
    make_genops: Any, telemetry: Any, policy: dict[str, Any], region: str, reason: str
) -> None:
    make_genops(
        policy={"version": 1, "policies": [{"name": "p", "enforcement": "BLOCKED", **policy}]}
    )
    client = _client(region, endpoint_url="http://127.0.0.1:9")
    handle = genops_native.instrument_bedrock(client)
    sent = _count_sends(client)
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    with pytest.raises(genops.PolicyViolationError) as raised:
        client.converse(modelId=MODEL, messages=messages, inferenceConfig={"maxTokens": 5})
    with pytest.raises(genops.PolicyViolationError):
        client.invoke_model(modelId=MODEL, body=json.dumps({"max_tokens": 5, "messages": messages}))
    handle.uninstrument()
    assert sent == []
    assert raised.value.decision.reason_code == reason
    assert all(s.attributes[A.POLICY_RESULT] == "BLOCKED" for s in telemetry.spans())


def _converse_body(usage: dict[str, int]) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "usage": {"totalTokens": 0, **usage},
        "metrics": {"latencyMs": 1},
    }


HI = [{"role": "user", "content": [{"text": "hi"}]}]


def test_converse_cache_tokens_and_inference_profile_priced(
    runtime: genops.GenOps, telemetry: Any
) -> None:
    usage_body = {
        "inputTokens": 20,
        "outputTokens": 7,
        "cacheReadInputTokens": 1000,
        "cacheWriteInputTokens": 300,
    }
    with bedrock_server(_converse_body(usage_body)) as (url, paths):
        client = _client("us-west-2", endpoint_url=url)
        genops_native.instrument_bedrock(client)
        client.converse(modelId=MODEL, messages=HI)
    assert paths == ["/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"]
    (span,) = telemetry.spans()
    attrs = span.attributes
    usage = genops.Usage(1320, 7, cache_read_tokens=1000, cache_write_tokens=300)
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 1320  # semconv: input includes cache tokens
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    assert attrs["cloud.region"] == "us-west-2"
    assert attrs[A.COST_TOTAL] == float(reference_cost("aws", MODEL, usage))
    assert reference_cost("aws", MODEL, usage) == reference_cost(
        "aws", "anthropic.claude-3-5-sonnet-20241022-v2:0", usage
    )


def test_call_inside_a_covering_unit_is_not_a_second_cost_span(
    runtime: genops.GenOps, telemetry: Any
) -> None:
    with bedrock_server(_converse_body({"inputTokens": 20, "outputTokens": 7})) as (url, _):
        client = _client("us-west-2", endpoint_url=url)
        genops_native.instrument_bedrock(client)
        with genops.governed("summarise", provider="aws.bedrock", model=MODEL) as unit:
            client.converse(modelId=MODEL, messages=HI)
            assert unit.usage == genops.Usage(20, 7)
    (span,) = telemetry.spans()
    assert span.attributes[A.OPERATION_NAME] == "summarise"
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 20
