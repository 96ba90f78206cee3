"""A RAG chain (retriever → prompt → chat model → parser): span tree, attributes, roll-ups."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from opentelemetry.trace import SpanKind, StatusCode

import genops
from genops import attributes as A
from tests.langchain.conftest import by_name, parent_of, same_trace, tree
from tests.langchain.fakes import DOCS, FakeChat, KeywordRetriever, answer
from tests.spec import assert_compliant

COST = 0.00024  # 600 × $0.15/M + 400 cached × $0.075/M + 200 × $0.60/M (gpt-4o-mini)
QUESTION = "how long do refunds take?"


def format_docs(docs: list[Document]) -> str:
    return "\n".join(d.page_content for d in docs)


def rag_chain(model: FakeChat) -> Runnable[str, str]:
    retriever = KeywordRetriever(documents=DOCS)
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context:\n{context}"), ("human", "{question}")]
    )
    return (
        {"context": retriever | RunnableLambda(format_docs), "question": RunnablePassthrough()}
        | prompt
        | model
        | StrOutputParser()
    ).with_config(run_name="support-rag")


EXPECTED_TREE = sorted(
    [
        ("invoke_workflow support-rag", "user request"),
        ("RunnableParallel<context,question>", "invoke_workflow support-rag"),
        ("RunnableSequence", "RunnableParallel<context,question>"),
        ("retrieval KeywordRetriever", "RunnableSequence"),
        ("format_docs", "RunnableSequence"),
        ("RunnablePassthrough", "RunnableParallel<context,question>"),
        ("ChatPromptTemplate", "invoke_workflow support-rag"),
        ("chat gpt-4o-mini", "invoke_workflow support-rag"),
        ("StrOutputParser", "invoke_workflow support-rag"),
    ]
)


def test_rag_chain_span_tree_attributes_and_rollup(telemetry, handler):
    model = FakeChat.cycling(answer("5 business days, with the receipt."))
    with telemetry.tracer.start_as_current_span("user request") as user_span:
        out = rag_chain(model).invoke(QUESTION, config={"callbacks": [handler]})
    assert out == "5 business days, with the receipt."
    spans = telemetry.spans()
    names = by_name(spans)
    root = names["invoke_workflow support-rag"][0]
    # the first run of the tree is placed under the span current when it started
    assert parent_of(root, spans) is not None
    assert root.parent.span_id == user_span.get_span_context().span_id
    assert tree(spans) == sorted([*EXPECTED_TREE, ("user request", None)])
    assert len(spans) == len(EXPECTED_TREE) + 1
    assert same_trace(spans)
    assert handler.open_runs == 0

    # kinds
    chat = names["chat gpt-4o-mini"][0]
    assert chat.kind is SpanKind.CLIENT
    for s in spans:
        if s is not chat:
            assert s.kind is SpanKind.INTERNAL, s.name

    # the root workflow span: operation, name, attribution, roll-up of the one unit
    attrs = dict(root.attributes)
    assert attrs.pop(A.ROLLUP_COST_TOTAL) == pytest.approx(COST)
    assert attrs == {
        A.GEN_AI_OPERATION_NAME: "invoke_workflow",
        A.GEN_AI_WORKFLOW_NAME: "support-rag",
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.ROLLUP_UNITS: 1,
        A.ROLLUP_TOKENS_INPUT: 1000,
        A.ROLLUP_TOKENS_OUTPUT: 200,
        A.ROLLUP_TOKENS_TOTAL: 1200,
    }
    retrieval = names["retrieval KeywordRetriever"][0]
    assert dict(retrieval.attributes) == {
        A.GEN_AI_OPERATION_NAME: "retrieval",
        A.GEN_AI_DATA_SOURCE_ID: "KeywordRetriever",
    }
    # inner chain spans carry nothing but their name (no serialisation of inputs)
    for name in ("ChatPromptTemplate", "StrOutputParser", "format_docs", "RunnablePassthrough"):
        assert dict(names[name][0].attributes) == {}, name

    # the chat unit: a compliant AWU, every attribute accounted for, nothing unexpected
    assert_compliant(chat)
    attrs = dict(chat.attributes)
    reserved = attrs.pop(A.ACCOUNTING_RESERVED)
    actual = attrs.pop(A.ACCOUNTING_ACTUAL)
    assert actual == pytest.approx(COST)
    assert reserved > actual  # input estimate + default max output tokens, priced
    assert attrs.pop(A.ACCOUNTING_RECONCILIATION_DELTA) == pytest.approx(actual - reserved)
    assert attrs.pop(A.COST_TOTAL) == pytest.approx(COST)
    assert isinstance(attrs.pop(A.POLICY_TIMESTAMP), int)
    assert attrs.pop(A.COST_PRICE_VERSION)
    expected = {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        A.GEN_AI_RESPONSE_ID: "chatcmpl-1",
        A.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
        A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 400,
        A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 50,
        A.TEAM: "platform",
        A.PROJECT: "genops-tests",
        A.ENVIRONMENT: "development",
        A.OPERATION_NAME: "FakeChat",
        A.OPERATION_TYPE: "chat",
        A.ACCOUNTING_UNIT: "USD",
        A.POLICY_RESULT: "ALLOWED",
        A.POLICY_EVALUATED_COUNT: 0,
        A.SPEC_VERSION: genops.SPEC_VERSION,
        A.TOKENS_INPUT: 1000,
        A.TOKENS_OUTPUT: 200,
        A.TOKENS_TOTAL: 1200,
        A.COST_CURRENCY: "USD",
        A.COST_PROVIDER: "openai",
        A.COST_MODEL: "gpt-4o-mini-2024-07-18",
        A.COST_PRICE_SOURCE: "genai-prices",
        A.PROVIDER_SOURCE: "framework",
    }
    for key, value in expected.items():
        assert attrs.pop(key) == value, key
    assert attrs == {}, f"unexpected attributes: {attrs}"
    assert [e.name for e in chat.events] == [
        A.EVENT_POLICY_EVALUATED,
        A.EVENT_BUDGET_RESERVATION,
        A.EVENT_BUDGET_RECONCILIATION,
    ]
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)
    assert model.stats["calls"] == 1


def _check_rag_trace(spans, *, streamed: bool) -> None:
    roots = [s for s in spans if s.name == "invoke_workflow support-rag"]
    for root in roots:
        mine = [s for s in spans if s.context.trace_id == root.context.trace_id]
        assert tree(mine) == sorted(
            (n, None if p == "user request" else p) for n, p in EXPECTED_TREE
        )
        chat = next(s for s in mine if s.name == "chat gpt-4o-mini")
        assert chat.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 1000
        assert chat.attributes[A.COST_TOTAL] == pytest.approx(COST)
        assert chat.attributes.get(A.GEN_AI_REQUEST_STREAM, False) is streamed
        assert (A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in chat.attributes) is streamed
        assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(COST)
        assert root.attributes[A.ROLLUP_TOKENS_TOTAL] == 1200


def test_rag_invoke_stream_and_batch_sync(telemetry, handler):
    model = FakeChat.cycling(answer("5 business days, with the receipt."))
    chain = rag_chain(model)
    config = {"callbacks": [handler]}

    assert chain.invoke(QUESTION, config=config)
    _check_rag_trace(telemetry.spans(), streamed=False)
    telemetry.exporter.clear()

    chunks = list(chain.stream(QUESTION, config=config))
    assert "".join(chunks) == "5 business days, with the receipt."
    assert len(chunks) > 1
    _check_rag_trace(telemetry.spans(), streamed=True)
    telemetry.exporter.clear()

    assert len(chain.batch([QUESTION, "refunds?", "shipping?"], config=config)) == 3
    spans = telemetry.spans()
    assert len([s for s in spans if s.name == "invoke_workflow support-rag"]) == 3
    _check_rag_trace(spans, streamed=False)
    assert handler.open_runs == 0


async def test_rag_ainvoke_astream_and_abatch(telemetry, handler):
    model = FakeChat.cycling(answer("5 business days, with the receipt."))
    chain = rag_chain(model)
    config = {"callbacks": [handler]}

    assert await chain.ainvoke(QUESTION, config=config)
    _check_rag_trace(telemetry.spans(), streamed=False)
    telemetry.exporter.clear()

    chunks = [c async for c in chain.astream(QUESTION, config=config)]
    assert "".join(chunks) == "5 business days, with the receipt."
    _check_rag_trace(telemetry.spans(), streamed=True)
    telemetry.exporter.clear()

    assert len(await chain.abatch([QUESTION, "refunds?", "shipping?"], config=config)) == 3
    spans = telemetry.spans()
    assert len([s for s in spans if s.name == "invoke_workflow support-rag"]) == 3
    _check_rag_trace(spans, streamed=False)
    assert handler.open_runs == 0
    assert model.stats["calls"] == 5


async def test_chain_inside_a_genops_rollup_adds_to_it(telemetry, handler):
    """``genops.rollup_span`` / ``track_usage`` around LangChain: one number for the turn."""
    chain = rag_chain(FakeChat.cycling(answer("5 days")))

    @genops.track_usage("support-turn")
    async def turn() -> None:
        await chain.ainvoke(QUESTION, config={"callbacks": [handler]})
        await chain.ainvoke(QUESTION, config={"callbacks": [handler]})

    with genops.rollup_span("request"):
        await turn()
    spans = telemetry.spans()
    outer = telemetry.span("request")
    unit = next(s for s in spans if s.attributes.get(A.OPERATION_NAME) == "support-turn")
    for span in (outer, unit):
        assert span.attributes[A.ROLLUP_UNITS] == 2
        assert span.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(2 * COST)
    for root in by_name(spans)["invoke_workflow support-rag"]:
        assert parent_of(root, spans) is unit
