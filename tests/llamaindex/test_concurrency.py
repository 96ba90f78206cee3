"""50 concurrent async queries with different customers: no attribution bleed, each
query's units under its own query span (its own trace, under its own request span)."""

from __future__ import annotations

import asyncio

from llama_index.core import VectorStoreIndex
from llama_index.llms.openai import OpenAI

import genops
from genops import attributes as A
from tests.conftest import Telemetry
from tests.fakes.provider import FakeProvider
from tests.llamaindex.conftest import MODEL, parent_of

N = 50


async def test_concurrent_queries_keep_customers_and_parents(
    telemetry: Telemetry, index: VectorStoreIndex, instrumented, llm: OpenAI, fake: FakeProvider
) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)

    async def one(i: int) -> str:
        with genops.attribution(customer_id=f"customer-{i}"):
            with telemetry.tracer.start_as_current_span(f"request-{i}"):
                return str(await engine.aquery(f"question {i}?"))

    answers = await asyncio.gather(*(one(i) for i in range(N)))
    assert answers == ["Hello!"] * N
    assert fake.request_count == N
    spans = telemetry.spans()
    requests = {s.name: s for s in spans if s.name.startswith("request-")}
    assert len(requests) == N
    units = [s for s in spans if s.name in (f"chat {MODEL}", "embeddings hash-embedding-8")]
    assert len(units) == 2 * N
    for unit in units:
        node = unit
        while not node.name.startswith("request-"):
            node = parent_of(node, spans)
        customer = node.name.replace("request-", "customer-")
        assert unit.attributes[A.CUSTOMER_ID] == customer
        query = parent_of(unit, spans)
        while query.name != "RetrieverQueryEngine.aquery":
            query = parent_of(query, spans)
        assert query.attributes[A.CUSTOMER_ID] == customer
        assert parent_of(query, spans) is node
        assert unit.context.trace_id == node.context.trace_id
    for query in (s for s in spans if s.name == "RetrieverQueryEngine.aquery"):
        assert query.attributes[A.ROLLUP_UNITS] == 2
    assert len(instrumented.instrumentation.tree) == 0
