"""Integration: Haystack (``genops-haystack``) — a RAG pipeline whose run is a workflow
span, each component a step and the chat generator's call a governed unit;
``genops.init()`` installs genops' Haystack tracer.

    uv run python examples/haystack_pipeline.py
"""

from __future__ import annotations

from haystack import Document, Pipeline
from haystack.components.builders import ChatPromptBuilder
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.dataclasses import ChatMessage
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.utils import Secret

import genops
from genops.demo import FakeProvider
from genops.store import LocalStore, Query, spend

TEMPLATE = "Facts: {% for d in documents %}{{ d.content }} {% endfor %}Answer: {{q}}"


def main() -> None:
    with FakeProvider() as fake:
        genops.init(service_name="haystack-example", team="marketing", project="faq")
        store = InMemoryDocumentStore()
        store.write_documents([Document(content="The Atlas laptop weighs 1.1 kg."),
                               Document(content="The Vega monitor is 27 inches.")])  # fmt: skip
        pipeline = Pipeline(metadata={"name": "product-faq"})
        pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=1))
        pipeline.add_component("prompt", ChatPromptBuilder([ChatMessage.from_user(TEMPLATE)],
                                                           required_variables=["q"]))  # fmt: skip
        pipeline.add_component("llm", OpenAIChatGenerator(
            api_key=Secret.from_token("example"), model="gpt-4o-mini",
            api_base_url=f"{fake.url}/v1",  # a gateway-style base URL
            generation_kwargs={"max_completion_tokens": 64}))  # fmt: skip
        pipeline.connect("retriever", "prompt.documents")
        pipeline.connect("prompt.prompt", "llm.messages")
        for customer, question in (("acme", "How heavy is the Atlas?"),
                                   ("initech", "How big is the Vega?")):  # fmt: skip
            with genops.attribution(customer_id=customer):
                out = pipeline.run({"retriever": {"query": question}, "prompt": {"q": question}})
            print(f"{customer}: {question} -> {out['llm']['replies'][0].text!r}")
        genops.shutdown()
    db = LocalStore(readonly=True)
    for row in spend(db, Query.last("10m", by=("team", "customer", "model"))):
        print(f"{row['team']} {row['customer']:<7} {row['model']} {row['calls']} calls "
              f"${row['cost']:.6f}")  # fmt: skip
    db.close()


if __name__ == "__main__":
    main()
