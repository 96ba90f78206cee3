"""llama-index's OpenAI LLM over the genops-native OpenAI layer: exactly one cost-bearing
span per provider call (the LlamaIndex unit owns it; the SDK layer adds usage through
the claim), sync, async and streamed; a known host (api.openai.com on an httpx
transport) and a gateway-style base URL (a real loopback server)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import ChatMessage
from llama_index.llms.openai import OpenAI

import genops
from genops import attributes as A
from tests.conftest import Telemetry
from tests.fakes.provider import FakeProvider
from tests.llamaindex.conftest import MODEL
from tests.spec import assert_compliant

genops_native = pytest.importorskip("genops_native")
from tests.llamaindex.test_rag import CHAT_COST  # noqa: E402


@pytest.fixture
def native(runtime: genops.GenOps) -> Iterator[None]:
    handle = genops_native.instrument_openai(include_usage=True)
    yield
    handle.uninstrument()


def _cost_bearing(telemetry: Telemetry) -> list:
    return [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in (s.attributes or {})]


def _assert_one(
    telemetry: Telemetry, mode: str, streamed: bool, others: int = 0, priced: bool = True
) -> None:
    units = _cost_bearing(telemetry)
    assert len(units) == 1 + others, mode  # + the local embedding model's unit in a RAG query
    (unit,) = [u for u in units if u.attributes[A.GEN_AI_OPERATION_NAME] == "chat"]
    assert unit.name == f"chat {MODEL}", mode
    assert_compliant(unit)
    attrs = unit.attributes
    if priced:
        assert attrs[A.COST_TOTAL] == pytest.approx(CHAT_COST), mode
        assert attrs[A.ACCOUNTING_ACTUAL] == pytest.approx(CHAT_COST), mode
    else:  # the SDK layer priced the call for the provider it detected: unknown, not $0
        assert attrs[A.COST_UNKNOWN] is True, mode
        assert A.COST_TOTAL not in attrs, mode
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 21, mode
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 5, mode
    assert attrs.get(A.ACCOUNTING_INCOMPLETE, False) is not priced, mode
    assert attrs.get(A.GEN_AI_REQUEST_STREAM, False) is streamed, mode


async def test_one_cost_bearing_span_per_call(
    telemetry: Telemetry, native: None, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    messages = [ChatMessage(role="user", content="hi")]
    runs = [
        ("chat", False, lambda: llm.chat(messages)),
        ("stream_chat", True, lambda: list(llm.stream_chat(messages))),
    ]
    for mode, streamed, run in runs:
        telemetry.exporter.clear()
        run()
        _assert_one(telemetry, mode, streamed)
    telemetry.exporter.clear()
    await llm.achat(messages)
    _assert_one(telemetry, "achat", False)
    telemetry.exporter.clear()
    [c async for c in await llm.astream_chat(messages)]
    _assert_one(telemetry, "astream_chat", True)
    assert fake.request_count == 4
    assert fake.requests[1].body["stream_options"] == {"include_usage": True}
    cost = telemetry.metrics()[A.METRIC_COST]
    assert sum(p.value for p in cost) == pytest.approx(4 * CHAT_COST)
    assert len(instrumented.instrumentation.tree) == 0


def test_gateway_base_url_rag_query(
    telemetry: Telemetry, native: None, index: VectorStoreIndex, instrumented
) -> None:
    fake = FakeProvider()
    with fake.serve() as base:
        llm = OpenAI(model=MODEL, api_key="sk-test", api_base=f"{base}/v1", max_retries=0)
        answer = index.as_query_engine(llm=llm, similarity_top_k=1).query("Where?")
    assert answer.response == "Hello!"
    assert fake.request_count == 1
    # a private gateway: the LlamaIndex unit's provider (openai) prices the SDK's call
    _assert_one(telemetry, "gateway", False, others=1, priced=True)
    chat = telemetry.span(f"chat {MODEL}")
    assert chat.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert chat.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert telemetry.span("RetrieverQueryEngine.query").attributes[A.ROLLUP_UNITS] == 2


def test_native_layer_alone_without_the_adapter(
    telemetry: Telemetry, native: None, fake: FakeProvider
) -> None:
    """Control: without the adapter the SDK layer owns the call."""
    llm = OpenAI(
        model=MODEL,
        api_key="k",
        max_retries=0,
        http_client=httpx.Client(transport=fake.transport()),
    )
    llm.complete("hi")
    (unit,) = _cost_bearing(telemetry)
    assert unit.attributes[A.COST_TOTAL] == pytest.approx(CHAT_COST)
