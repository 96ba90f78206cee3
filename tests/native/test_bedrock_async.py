"""aiobotocore (async AWS Bedrock): the same botocore event hooks on the async client —
recorded Converse / ConverseStream / InvokeModelWithResponseStream replayed through a
real aiobotocore client, a loopback server, and a blocked call that sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiobotocore.session import get_session

import genops
import genops_native
from genops import attributes as A
from tests.fakes.bedrock import bedrock_server
from tests.native.prices import reference_cost
from tests.native.test_bedrock import CASSETTES, HI, MODEL, REPLAY, _converse_body, _requests

pytestmark = pytest.mark.skipif(not CASSETTES.is_dir(), reason=f"no cassettes at {CASSETTES}")
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


@pytest.fixture
def bedrock(runtime: genops.GenOps) -> Any:
    handle = genops_native.instrument_bedrock()  # new clients, aiobotocore's included
    yield runtime
    handle.uninstrument()


async def _send(client: Any, op: str, model: str, body: str) -> Any:
    if op == "converse-stream":
        response = await client.converse_stream(modelId=model, **json.loads(body))
        return [event async for event in response["stream"]]
    if op == "invoke-with-response-stream":
        response = await client.invoke_model_with_response_stream(modelId=model, body=body)
        return [event async for event in response["body"]]
    return await client.converse(modelId=model, **json.loads(body))


@pytest.mark.parametrize(
    "cassette",
    [
        "test_converse_with_content.yaml",
        "test_converse_stream_with_content.yaml",
        "test_invoke_model_with_response_stream_with_content_anthropic.claude.yaml",
    ],
)
async def test_aiobotocore_cassette(bedrock: genops.GenOps, telemetry: Any, cassette: str) -> None:
    ((op, model, body),) = _requests(cassette)
    async with get_session().create_client(
        "bedrock-runtime", region_name="us-east-1", **CREDENTIALS
    ) as client:
        with REPLAY.use_cassette(str(CASSETTES / cassette)) as tape:
            assert await _send(client, op, model, body)
            assert tape.all_played
    (span,) = telemetry.spans()
    attrs = span.attributes
    streamed = op != "converse"
    assert span.name == f"chat {model}"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert attrs["cloud.region"] == "us-east-1"
    assert attrs[A.GEN_AI_REQUEST_STREAM] is streamed
    usage = genops.Usage(attrs[A.GEN_AI_USAGE_INPUT_TOKENS], attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS])
    if not streamed:
        assert usage == genops.Usage(8, 10)
    else:  # read from the recorded event-stream frames by the async proxy
        assert usage.input_tokens > 0 and usage.output_tokens > 0
        assert attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    if attrs.get(A.COST_UNKNOWN):
        assert model == "anthropic.claude-v2"
    else:
        assert attrs[A.COST_TOTAL] == float(reference_cost("aws", model, usage))
    assert A.ACCOUNTING_INCOMPLETE not in attrs


async def test_aiobotocore_loopback_cache_tokens_and_blocked_region(
    make_genops: Any, telemetry: Any
) -> None:
    make_genops(
        policy={
            "version": 1,
            "policies": [
                {"name": "us", "enforcement": "BLOCKED", "type": "allowed_regions",
                 "regions": ["us-*"]},
            ],
        }
    )  # fmt: skip
    body = _converse_body({"inputTokens": 20, "outputTokens": 7, "cacheReadInputTokens": 1000})
    session = get_session()
    with bedrock_server(body) as (url, paths):
        async with session.create_client(
            "bedrock-runtime", region_name="us-west-2", endpoint_url=url, **CREDENTIALS
        ) as client:
            handle = genops_native.instrument_bedrock(client)
            await client.converse(modelId=MODEL, messages=HI)
            handle.uninstrument()
        async with session.create_client(
            "bedrock-runtime", region_name="eu-west-1", endpoint_url=url, **CREDENTIALS
        ) as client:
            handle = genops_native.instrument_bedrock(client)
            with pytest.raises(genops.PolicyViolationError) as raised:
                await client.converse(modelId=MODEL, messages=HI)
            handle.uninstrument()
    assert len(paths) == 1  # the blocked call sent nothing
    assert raised.value.decision.reason_code == "POLICY_DENY_REGION"
    allowed, blocked = telemetry.spans()
    usage = genops.Usage(1020, 7, cache_read_tokens=1000)
    assert allowed.attributes[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    assert allowed.attributes[A.COST_TOTAL] == float(reference_cost("aws", MODEL, usage))
    assert blocked.attributes[A.POLICY_RESULT] == "BLOCKED"
