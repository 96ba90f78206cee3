"""Integration: LlamaIndex (``genops-llamaindex``) — a query engine whose LLM calls are
governed units nested under LlamaIndex's own query span, attributed per customer with
LlamaIndex's ``instrument_tags``; ``genops.init()`` enables the integration.

    uv run python examples/llamaindex_query.py
"""

from __future__ import annotations

from llama_index.core import Document, SummaryIndex
from llama_index.core.instrumentation.dispatcher import instrument_tags
from llama_index.llms.openai import OpenAI

import genops
from genops.demo import FakeProvider
from genops.store import LocalStore, Query, spend

CLAUSES = ["Either party may terminate with 30 days' notice.", "Liability is capped at fees."]


def main() -> None:
    with FakeProvider() as fake:
        genops.init(service_name="llamaindex-example", team="legal", project="contract-review")
        llm = OpenAI(model="gpt-4o-mini", api_key="example", max_tokens=64,
                     http_client=fake.http_client())  # fmt: skip
        engine = SummaryIndex([Document(text=c) for c in CLAUSES]).as_query_engine(llm=llm)
        for customer, question in (("acme", "Can we terminate early?"),
                                   ("globex", "Is liability capped?")):  # fmt: skip
            with instrument_tags({"genops_customer_id": customer}):
                answer = engine.query(question)
            print(f"{customer}: {question} -> {str(answer)!r}")
        genops.shutdown()
    store = LocalStore(readonly=True)
    for row in spend(store, Query.last("10m", by=("team", "customer", "model"))):
        print(f"{row['team']} {row['customer']:<7} {row['model']} {row['calls']} calls "
              f"${row['cost']:.6f}")  # fmt: skip
    store.close()


if __name__ == "__main__":
    main()
