"""The Haystack demo scenario (``genops demo``; genops-core's ``genops.demo`` entry point).

- marketing (RAG pipeline): BM25 retrieval over product facts, a chat prompt and
  ``OpenAIChatGenerator`` on the loopback provider (a gateway-style base URL), one
  pipeline run per product launch.

Like every scenario it lives in ``genops.demo`` (docs/demo.md); it runs when
``haystack`` and ``genops_haystack`` are installed (``requires``), and imports Haystack
only when it runs.
"""

from __future__ import annotations

import os

import genops
from genops.demo import DemoContext, Scenario

FACTS = (
    "The Atlas laptop weighs 1.1 kg and runs 18 hours on one charge.",
    "The Nimbus headset cancels noise and pairs with two devices at once.",
    "The Vega monitor is 27 inches, 4K, and calibrated at the factory.",
)
LAUNCHES = (("acme", "Atlas laptop"), ("globex", "Nimbus headset"), ("initech", "Vega monitor"))
TEMPLATE = "Facts: {% for d in documents %}{{ d.content }} {% endfor %}Write a tagline for {{q}}."


def copywriting(ctx: DemoContext) -> None:
    # the demo promises no network: Haystack's usage telemetry (PostHog) stays off unless
    # the user set it (read when haystack is imported)
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    from haystack import Document, Pipeline
    from haystack.components.builders import ChatPromptBuilder
    from haystack.components.generators.chat import OpenAIChatGenerator
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
    from haystack.dataclasses import ChatMessage
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack.utils import Secret

    store = InMemoryDocumentStore()
    store.write_documents([Document(content=fact) for fact in FACTS])
    pipeline = Pipeline(metadata={"name": "campaign-copy"})
    pipeline.add_component("retriever", InMemoryBM25Retriever(document_store=store, top_k=1))
    pipeline.add_component(
        "prompt", ChatPromptBuilder([ChatMessage.from_user(TEMPLATE)], required_variables=["q"])
    )
    llm = OpenAIChatGenerator(
        api_key=Secret.from_token("demo"), model="gpt-4o-mini", api_base_url=f"{ctx.fake.url}/v1",
        generation_kwargs={"max_completion_tokens": 64},
    )  # fmt: skip
    pipeline.add_component("llm", llm)
    pipeline.connect("retriever", "prompt.documents")
    pipeline.connect("prompt.prompt", "llm.messages")
    with genops.attribution(team="marketing", project="campaign-copy"):
        for customer, product in LAUNCHES:
            with genops.attribution(customer_id=customer):
                pipeline.run({"retriever": {"query": product}, "prompt": {"q": product}})
            ctx.step()


SCENARIOS = [
    Scenario("haystack campaign copy", "haystack", "marketing", "a RAG pipeline per launch",
             len(LAUNCHES), copywriting, ("gpt-4o-mini",), requires=("haystack", "genops_haystack"))
]  # fmt: skip
