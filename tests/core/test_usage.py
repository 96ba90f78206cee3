"""Usage normalisation, including real recorded responses of every provider."""

from __future__ import annotations

import json

import pytest
import yaml

from genops.usage import Usage
from tests.paths import CASSETTES


def _response_json(cassette: str) -> dict:
    data = yaml.safe_load((CASSETTES / cassette).read_text())
    body = data["interactions"][0]["response"]["body"]["string"]
    return json.loads(body)


def test_bedrock_converse_recorded_response():
    usage = Usage.from_provider(_response_json("bedrock/test_converse_with_content.yaml")["usage"])
    assert usage == Usage(input_tokens=8, output_tokens=10)


def test_bedrock_invoke_model_anthropic_claude_recorded_response():
    raw = _response_json("bedrock/test_invoke_model_with_content_anthropic.claude.yaml")["usage"]
    usage = Usage.from_provider(raw)
    assert usage.input_tokens == raw["input_tokens"]
    assert usage.output_tokens == raw["output_tokens"]


def test_gemini_recorded_response_counts_thoughts_as_output():
    meta = _response_json("gemini/test_non_streaming_gemini-2.5-flash_vertexai_sync.yaml")[
        "usageMetadata"
    ]
    usage = Usage.from_provider(meta)
    assert usage == Usage(input_tokens=8, output_tokens=433 + 1477, reasoning_tokens=1477)
    assert usage.total_tokens == meta["totalTokenCount"]


def test_gemini_tool_use_prompt_tokens_are_input():
    """Grounding / tool-use prompt tokens are billed as input (genai-prices counts them so)."""
    meta = {
        "promptTokenCount": 10,
        "toolUsePromptTokenCount": 90,
        "candidatesTokenCount": 5,
        "cachedContentTokenCount": 4,
        "totalTokenCount": 105,
    }
    usage = Usage.from_provider(meta)
    assert usage == Usage(input_tokens=100, output_tokens=5, cache_read_tokens=4)
    assert usage.total_tokens == meta["totalTokenCount"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (  # OpenAI chat completions
            {
                "prompt_tokens": 100,
                "completion_tokens": 50,
                "prompt_tokens_details": {"cached_tokens": 40},
                "completion_tokens_details": {"reasoning_tokens": 30},
            },
            Usage(100, 50, cache_read_tokens=40, reasoning_tokens=30),
        ),
        (  # OpenAI Responses
            {
                "input_tokens": 100,
                "output_tokens": 50,
                "input_tokens_details": {"cached_tokens": 10},
                "output_tokens_details": {"reasoning_tokens": 20},
            },
            Usage(100, 50, cache_read_tokens=10, reasoning_tokens=20),
        ),
        (  # Anthropic: input excludes cache tokens
            {
                "input_tokens": 10,
                "output_tokens": 5,
                "cache_read_input_tokens": 300,
                "cache_creation_input_tokens": 20,
            },
            Usage(330, 5, cache_read_tokens=300, cache_write_tokens=20),
        ),
        (  # LangChain usage_metadata
            {
                "input_tokens": 100,
                "output_tokens": 10,
                "total_tokens": 110,
                "input_token_details": {"cache_read": 60, "cache_creation": 5},
                "output_token_details": {"reasoning": 4},
            },
            Usage(100, 10, cache_read_tokens=60, cache_write_tokens=5, reasoning_tokens=4),
        ),
        ({"inputTokens": 8, "outputTokens": 2, "cacheReadInputTokens": 4}, Usage(12, 2, 4)),
        ({"something": "else"}, None),
        (None, None),
    ],
)
def test_shapes(raw, expected):
    assert Usage.from_provider(raw) == expected


def test_object_shapes_and_validation():
    class Details:
        cached_tokens = 3

    class Raw:
        prompt_tokens = 7
        completion_tokens = 2
        prompt_tokens_details = Details()
        completion_tokens_details = None

    assert Usage.from_provider(Raw()) == Usage(7, 2, cache_read_tokens=3)
    with pytest.raises(ValueError, match="input_tokens"):
        Usage(input_tokens=-1)
    with pytest.raises(TypeError, match="output_tokens"):
        Usage(output_tokens=1.5)
