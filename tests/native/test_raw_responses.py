"""``with_raw_response.create(...)`` (what LangChain's ChatAnthropic sends): anthropic 2.14
returns ``APIResponse`` / ``AsyncAPIResponse``; usage is read when the caller parses,
streams included (``message_start``'s input tokens, not just ``message_delta``'s)."""

from __future__ import annotations

from typing import Any

import pytest

import genops
from genops import attributes as A
from tests.fakes.provider import DEFAULT_ANTHROPIC_USAGE

USAGE = genops.Usage.from_provider(DEFAULT_ANTHROPIC_USAGE)
assert USAGE is not None
KWARGS: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi there"}],
}


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_raw_response(
    native: genops.GenOps, telemetry: Any, make_anthropic: Any, stream: bool, async_: bool
) -> None:
    client = make_anthropic(async_=async_)
    raw = client.messages.with_raw_response.create(**KWARGS, stream=stream)
    if async_:
        raw = await raw
        parsed = await raw.parse()
        assert parsed is await raw.parse()
        if stream:
            kinds = [event.type async for event in parsed]
    else:
        parsed = raw.parse()
        assert parsed is raw.parse()
        if stream:
            kinds = [event.type for event in parsed]
    if stream:
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    else:
        assert parsed.content[0].text == "Hello!"
    assert raw.headers is not None
    (span,) = telemetry.spans()
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == USAGE.input_tokens
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == USAGE.output_tokens
    assert A.COST_TOTAL in span.attributes
    assert A.ACCOUNTING_INCOMPLETE not in span.attributes
