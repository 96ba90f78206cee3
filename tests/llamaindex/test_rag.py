"""A RAG query: query → retrieval → embeddings → synthesize → chat, one governed tree."""

from __future__ import annotations

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.llms.openai import OpenAI

import genops
from genops import attributes as A
from tests.conftest import Telemetry
from tests.fakes.provider import FakeProvider
from tests.llamaindex.conftest import MODEL, outline

QUESTION = "Where is the Eiffel Tower?"
# DEFAULT_CHAT_USAGE of the fake: 21 in (5 cached), 7 out (2 reasoning), gpt-4o-mini:
# 16 × $0.15/M + 5 × $0.075/M + 7 × $0.60/M
CHAT_COST = 16 * 0.15e-6 + 5 * 0.075e-6 + 7 * 0.6e-6


def rag_tree(query: str, synthesize: str, *, refine_program: bool) -> list[str]:
    """The expected trace of one RAG query under a ``request`` span."""
    chat = [f"        chat {MODEL}"] if refine_program else [f"      chat {MODEL}"]
    program = ["      DefaultRefineProgram.__call__"] if refine_program else []
    return [
        "request",
        f"  {query}",
        "    retrieval VectorIndexRetriever",
        "      embeddings hash-embedding-8",
        f"    {synthesize}",
        "      TokenTextSplitter.split_text",
        "      TokenTextSplitter.split_text",
        *program,
        *chat,
    ]


def test_query_engine_tree_costs_and_attributes(
    telemetry: Telemetry,
    index: VectorStoreIndex,
    instrumented: object,
    llm: OpenAI,
    fake: FakeProvider,
) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    with genops.attribution(customer_id="acme", feature="faq"):
        with telemetry.tracer.start_as_current_span("request"):
            response = engine.query(QUESTION)
    assert response.response == "Hello!"
    assert fake.request_count == 1
    spans = telemetry.spans()
    assert outline(spans) == rag_tree(
        "RetrieverQueryEngine.query", "CompactAndRefine.synthesize", refine_program=True
    )

    chat = telemetry.span(f"chat {MODEL}")
    attrs = dict(chat.attributes or {})
    assert chat.kind.name == "CLIENT"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == MODEL
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == MODEL
    assert attrs[A.GEN_AI_RESPONSE_ID] == "chatcmpl-fake1"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 21
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert attrs[A.OPERATION_NAME] == "llamaindex.OpenAI.chat"
    assert attrs[A.CUSTOMER_ID] == "acme" and attrs[A.FEATURE] == "faq"
    assert attrs[A.TEAM] == "platform"
    assert attrs[A.POLICY_RESULT] == "ALLOWED"
    assert attrs[A.COST_TOTAL] == pytest.approx(CHAT_COST)
    assert [e.name for e in chat.events][:2] == [
        A.EVENT_POLICY_EVALUATED,
        A.EVENT_BUDGET_RESERVATION,
    ]

    embedding = telemetry.span("embeddings hash-embedding-8")
    e_attrs = dict(embedding.attributes or {})
    assert e_attrs[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert e_attrs[A.OPERATION_TYPE] == "embedding"
    assert e_attrs[A.COST_UNKNOWN] is True  # a model no price source knows: not $0
    assert e_attrs[A.CUSTOMER_ID] == "acme"

    query = telemetry.span("RetrieverQueryEngine.query")
    q_attrs = dict(query.attributes or {})
    assert q_attrs[A.CUSTOMER_ID] == "acme" and q_attrs[A.TEAM] == "platform"
    assert q_attrs[A.ROLLUP_UNITS] == 2
    assert q_attrs[A.ROLLUP_COST_TOTAL] == pytest.approx(CHAT_COST)
    assert telemetry.span("retrieval VectorIndexRetriever").attributes[A.ROLLUP_UNITS] == 1
    assert telemetry.span("CompactAndRefine.synthesize").attributes[
        A.ROLLUP_COST_TOTAL
    ] == pytest.approx(CHAT_COST)
    assert len(instrumented.instrumentation.tree) == 0


def test_no_query_or_document_text_without_content_capture(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented: object, llm: OpenAI
) -> None:
    index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    for span in telemetry.spans():
        for value in (span.attributes or {}).values():
            assert "Eiffel" not in str(value)


def test_content_capture_records_the_prompt(
    telemetry: Telemetry, make_genops, index: VectorStoreIndex, llm: OpenAI
) -> None:
    make_genops(capture_content=True)
    import genops_llamaindex

    handle = genops_llamaindex.enable()
    try:
        index.as_query_engine(llm=llm, similarity_top_k=1).query(QUESTION)
    finally:
        handle.uninstrument()
    assert "Eiffel" in str(telemetry.span(f"chat {MODEL}").attributes[A.GEN_AI_INPUT_MESSAGES])


async def test_async_query_keeps_the_tree(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented: object, llm: OpenAI
) -> None:
    with telemetry.tracer.start_as_current_span("request"):
        response = await index.as_query_engine(llm=llm, similarity_top_k=1).aquery(QUESTION)
    assert response.response == "Hello!"
    assert outline(telemetry.spans()) == rag_tree(
        "RetrieverQueryEngine.aquery", "CompactAndRefine.asynthesize", refine_program=False
    )
    query = telemetry.span("RetrieverQueryEngine.aquery")
    assert query.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(CHAT_COST)


def test_streaming_query_parents_the_stream_and_rolls_it_up(
    telemetry: Telemetry,
    index: VectorStoreIndex,
    instrumented: object,
    llm: OpenAI,
    fake: FakeProvider,
) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=1, streaming=True)
    with telemetry.tracer.start_as_current_span("request"):
        response = engine.query(QUESTION)
        assert fake.request_count == 0  # nothing sent until the stream is read
        text = "".join(response.response_gen)
    assert text == "Hello!"
    assert fake.request_count == 1
    assert outline(telemetry.spans()) == rag_tree(
        "RetrieverQueryEngine.query", "CompactAndRefine.synthesize", refine_program=False
    )
    chat = telemetry.span(f"chat {MODEL}")
    assert chat.attributes[A.GEN_AI_REQUEST_STREAM] is True
    query = telemetry.span("RetrieverQueryEngine.query")
    assert query.end_time >= chat.end_time  # the query ends with its stream
    assert query.attributes[A.ROLLUP_UNITS] == 2
    assert len(instrumented.instrumentation.tree) == 0


async def test_async_streaming_query(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented: object, llm: OpenAI
) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=1, streaming=True)
    response = await engine.aquery(QUESTION)
    text = "".join([t async for t in response.async_response_gen()])
    assert text == "Hello!"
    chat = telemetry.span(f"chat {MODEL}")
    query = telemetry.span("RetrieverQueryEngine.aquery")
    assert query.end_time >= chat.end_time
    assert chat.parent is not None and chat.context.trace_id == query.context.trace_id
    assert len(instrumented.instrumentation.tree) == 0
