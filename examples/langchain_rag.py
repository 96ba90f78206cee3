"""Integration: LangChain (``genops-langchain``) — a RAG chain and a tool-calling agent,
attributed to their teams, each provider call costed once, chains rolled up.

    uv run python examples/langchain_rag.py
"""

from __future__ import annotations

import genops
from genops.demo import DemoContext, FakeProvider
from genops.demo.langchain import agent, rag
from genops.store import LocalStore, Query, spend


def main() -> None:
    with FakeProvider() as fake:
        policy = {
            "version": 1,
            "policies": [
                {"name": "no-ssn", "type": "content", "detect": ["ssn"], "action": "block"}
            ],
        }
        genops.init(service_name="langchain-example", policy=policy, local_store=True)
        ctx = DemoContext(fake=fake)
        rag(ctx)  # team search: retrieve, then answer
        agent(ctx)  # team ops: tool calls; a question with an SSN is blocked
        genops.shutdown()
    for note in ctx.notes:
        print(note)
    store = LocalStore(readonly=True)
    for row in spend(store, Query.last("10m", by=("team", "model"))):
        print(f"{row['team']:<8} {row['model']:<24} {row['calls']} calls  ${row['cost']:.6f}")
    store.close()


if __name__ == "__main__":
    main()
