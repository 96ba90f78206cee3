"""A framework governs the call: LangChain's ChatOpenAI on the real OpenAI SDK underneath.

The LangChain handler opens the cost-bearing unit; the SDK wrapper sees it through
``genops.covering_unit()`` and adds no second span, whether the model streams or not.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import genops
from genops import attributes as A
from tests.fakes.provider import FakeProvider

langchain_openai = pytest.importorskip("langchain_openai")
genops_langchain = pytest.importorskip("genops_langchain")


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_langchain_chat_openai_has_one_cost_bearing_span(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, stream: bool
) -> None:
    model = langchain_openai.ChatOpenAI(
        model="gpt-4o-mini",
        api_key="k",
        max_retries=0,
        stream_usage=True,
        http_client=httpx.Client(transport=fake.transport()),
    )
    config: Any = {"callbacks": [genops_langchain.GenOpsCallbackHandler()]}
    if stream:
        text = "".join(str(c.content) for c in model.stream("Hi", config=config))
    else:
        text = str(model.invoke("Hi", config=config).content)
    assert text == "Hello!"
    assert fake.request_count == 1
    priced = [s for s in telemetry.spans() if A.COST_TOTAL in (s.attributes or {})]
    assert len(priced) == 1, [(s.name, dict(s.attributes or {})) for s in telemetry.spans()]
    client_spans = [s for s in telemetry.spans() if s.attributes.get(A.GEN_AI_REQUEST_MODEL)]
    assert len(client_spans) == 1  # no second span from the SDK layer
    (span,) = priced
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
