"""LlamaIndex demo scenario (``genops demo``): team legal queries a contract index."""

import genops
from genops.demo import DemoContext, Scenario

CLAUSES = ("Either party may terminate with 30 days' notice.", "Liability is capped at fees.")


def contracts(ctx: DemoContext) -> None:
    from llama_index.core import Document, SummaryIndex
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model="gpt-4o-mini", api_key="demo", http_client=ctx.fake.http_client())
    engine = SummaryIndex([Document(text=c) for c in CLAUSES]).as_query_engine(llm=llm)
    with genops.attribution(team="legal", project="contract-review"):
        for question in ("Can either party terminate early?", "Is our liability capped?"):
            engine.query(question)
            ctx.step()


SCENARIOS = [
    Scenario("llamaindex contract Q&A", "llamaindex", "legal", "a query engine", 2, contracts,
             ("gpt-4o-mini",), requires=("llama_index.llms.openai", "genops_llamaindex")),
]  # fmt: skip
