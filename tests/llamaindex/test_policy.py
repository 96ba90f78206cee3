"""Policy before the call: a BLOCKED decision raises genops.PolicyViolationError to the
caller with 0 requests sent — sync, async, streaming, agents and embeddings."""

from __future__ import annotations

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.instrumentation.span import active_span_id
from llama_index.llms.openai import OpenAI
from opentelemetry.trace import StatusCode

import genops
from genops import attributes as A
from genops.decision import DecisionResult
from tests.conftest import Telemetry
from tests.fakes.provider import FakeProvider
from tests.llamaindex.conftest import MODEL, HashEmbedding

QUESTION = "Where is the Eiffel Tower?"


def deny(model: str, enforcement: str = "BLOCKED") -> None:
    genops.register_policy(
        "approved-models",
        lambda request: request.model != model,
        reason_code="POLICY_DENY_MODEL",
        enforcement=enforcement,
    )


def assert_blocked(telemetry: Telemetry, name: str, root: str) -> None:
    unit = telemetry.span(name)
    assert unit.status.status_code is StatusCode.ERROR
    assert unit.attributes[A.POLICY_RESULT] == "BLOCKED"
    assert unit.attributes[A.POLICY_REASON_CODE] == "POLICY_DENY_MODEL"
    assert unit.attributes[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert [e.name for e in unit.events] == [A.EVENT_POLICY_EVALUATED]
    parent = telemetry.span(root)
    assert parent.status.status_code is StatusCode.ERROR
    assert unit.parent is not None
    assert active_span_id.get() is None  # the blocked span is not left active


def test_blocked_query_sends_nothing(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    deny(MODEL)
    with pytest.raises(genops.PolicyViolationError) as info:
        index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    assert info.value.result is DecisionResult.BLOCKED
    assert info.value.reason_code == "POLICY_DENY_MODEL"
    assert fake.request_count == 0
    assert_blocked(telemetry, f"chat {MODEL}", "RetrieverQueryEngine.query")
    assert len(instrumented.instrumentation.tree) == 0


async def test_blocked_async_query_sends_nothing(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    deny(MODEL)
    with pytest.raises(genops.PolicyViolationError):
        await index.as_query_engine(llm=llm, similarity_top_k=1).aquery(QUESTION)
    assert fake.request_count == 0
    assert_blocked(telemetry, f"chat {MODEL}", "RetrieverQueryEngine.aquery")


def test_blocked_streaming_query_sends_nothing(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    deny(MODEL)
    response = index.as_query_engine(llm=llm, similarity_top_k=1, streaming=True).query(QUESTION)
    with pytest.raises(genops.PolicyViolationError):
        "".join(response.response_gen)
    assert fake.request_count == 0
    assert_blocked(telemetry, f"chat {MODEL}", "RetrieverQueryEngine.query")
    assert len(instrumented.instrumentation.tree) == 0


def test_blocked_direct_llm_calls(telemetry: Telemetry, instrumented, llm: OpenAI, fake) -> None:
    deny(MODEL)
    with pytest.raises(genops.PolicyViolationError):
        llm.complete("hi")
    with pytest.raises(genops.PolicyViolationError):
        llm.stream_complete("hi")
    assert fake.request_count == 0
    assert active_span_id.get() is None


async def test_blocked_agent_sends_nothing(
    telemetry: Telemetry, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    deny(MODEL)
    agent = FunctionAgent(name="weather", tools=[], llm=llm, streaming=False)
    with pytest.raises(genops.PolicyViolationError):
        await agent.run("Weather in Paris?")
    assert fake.request_count == 0
    assert_blocked(telemetry, f"chat {MODEL}", "invoke_agent weather")


def test_blocked_embedding_never_runs(telemetry: Telemetry, instrumented) -> None:
    deny("hash-embedding-8")
    calls: list[str] = []

    class Counting(HashEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            calls.append(query)
            return super()._get_query_embedding(query)

    with pytest.raises(genops.PolicyViolationError):
        Counting().get_query_embedding("q")
    assert calls == []
    unit = telemetry.span("embeddings hash-embedding-8")
    assert unit.attributes[A.POLICY_RESULT] == "BLOCKED"


def test_warning_lets_the_call_through(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    deny(MODEL, enforcement="WARNING")
    assert index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION).response == "Hello!"
    assert fake.request_count == 1
    assert telemetry.span(f"chat {MODEL}").attributes[A.POLICY_RESULT] == "WARNING"


def test_provider_error_releases_and_marks_the_tree(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    from tests.fakes import wire
    from tests.fakes.provider import Reply

    fake.script(Reply.json(wire.openai_error(500), status=500))
    with pytest.raises(Exception, match=r"500|Internal"):
        index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    chat = telemetry.span(f"chat {MODEL}")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes[A.ACCOUNTING_ACTUAL] == 0
    assert telemetry.span("RetrieverQueryEngine.query").status.status_code is StatusCode.ERROR
    assert len(instrumented.instrumentation.tree) == 0


def test_a_handler_added_by_hand_cannot_block_and_says_so(
    telemetry: Telemetry, runtime, llm: OpenAI, fake: FakeProvider, caplog
) -> None:
    """Documents the dispatcher's limit: without enable()'s gate the block is swallowed."""
    from llama_index.core.instrumentation import get_dispatcher

    from genops_llamaindex import GenOpsInstrumentation, _handler

    inst = GenOpsInstrumentation()
    root = get_dispatcher()
    root.add_span_handler(inst.span_handler)
    root.add_event_handler(inst.event_handler)
    _handler._warned = False
    deny(MODEL)
    try:
        assert llm.complete("hi").text == "Hello!"  # the dispatcher swallowed the block
    finally:
        root.span_handlers.remove(inst.span_handler)
        root.event_handlers.remove(inst.event_handler)
    assert fake.request_count == 1
    assert "use genops_llamaindex.enable()" in caplog.text
    assert telemetry.span(f"text_completion {MODEL}").attributes[A.POLICY_RESULT] == "BLOCKED"
