"""LangChain demo scenarios (``genops demo``; genops-core's ``genops.demo`` entry point).

Need ``langchain-openai`` (ChatOpenAI / OpenAIEmbeddings on the loopback provider) and
genops-langchain (``requires``); LangChain is imported only when a scenario runs:

- search (RAG): embed a handful of documents, retrieve, answer — one chain per question;
- ops (agent): a tool-calling incident agent; a question carrying an SSN is blocked.
"""

from __future__ import annotations

from typing import Any

import genops
from genops.demo import DemoContext, Scenario

DOCS = (
    "Refunds are issued within 5 business days to the original payment method.",
    "Admins can invite other admins from Settings → Team.",
    "Data exports are available as CSV or JSON from the Account page.",
    "Passwords can be reset from the sign-in page; links expire after 30 minutes.",
)
QUESTIONS = (
    ("acme", "How long do refunds take?"),
    ("globex", "How do I invite another admin?"),
    ("initech", "Can I export my data as JSON?"),
)
INCIDENTS = (
    "Checkout latency is up 40% since 09:00, what changed?",
    "Error rate on the payments API doubled, who is on call?",
    "Customer 123-45-6789 cannot log in, check their account",
)


def _chat(ctx: DemoContext, **kwargs: Any) -> Any:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        model="gpt-4o-mini", api_key=SecretStr("demo"), http_client=ctx.fake.http_client(), **kwargs
    )


def _retriever(embeddings: Any, texts: tuple[str, ...]) -> Any:
    """A cosine-similarity retriever in plain Python (no numpy needed)."""
    import math

    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    vectors = embeddings.embed_documents(list(texts))

    def cosine(a: list[float], b: list[float]) -> float:
        norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
        return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0

    class DocsRetriever(BaseRetriever):
        k: int = 2

        def _get_relevant_documents(
            self, query: str, *, run_manager: CallbackManagerForRetrieverRun
        ) -> list[Document]:
            q = embeddings.embed_query(query)
            ranked = sorted(zip(texts, vectors, strict=True), key=lambda tv: -cosine(q, tv[1]))
            return [Document(page_content=t) for t, _ in ranked[: self.k]]

    return DocsRetriever()


def rag(ctx: DemoContext) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough
    from langchain_openai import OpenAIEmbeddings
    from pydantic import SecretStr

    embeddings = OpenAIEmbeddings(
        model="text-embedding-3-small",
        api_key=SecretStr("demo"),
        http_client=ctx.fake.http_client(),
        check_embedding_ctx_length=False,  # no tiktoken download: the demo is offline
    )
    with genops.attribution(team="search", project="docs-qa", feature="answers"):
        retriever = _retriever(embeddings, DOCS)
        ctx.step()
        prompt = ChatPromptTemplate.from_messages(
            [("system", "Answer from the context only.\n{context}"), ("user", "{question}")]
        )
        chain = (
            {"context": retriever, "question": RunnablePassthrough()}
            | prompt
            | _chat(ctx, max_tokens=128)
            | StrOutputParser()
        ).with_config(run_name="docs-qa")
        for customer, question in QUESTIONS:
            with genops.attribution(customer_id=customer):
                chain.invoke(question)
            ctx.step()


def agent(ctx: DemoContext) -> None:
    from langchain_core.messages import BaseMessage, HumanMessage
    from langchain_core.runnables import RunnableConfig, RunnableLambda
    from langchain_core.tools import tool

    @tool
    def search_runbooks(query: str) -> str:
        """Search the incident runbooks."""
        return f"Runbook for {query[:30]!r}: check the last deploy, then page the owner."

    tools = {search_runbooks.name: search_runbooks}
    model = _chat(ctx, max_tokens=256).bind_tools(list(tools.values()))

    def loop(question: str, config: RunnableConfig) -> str:
        messages: list[BaseMessage] = [HumanMessage(question)]
        for _ in range(4):
            ai = model.invoke(messages, config=config)
            messages.append(ai)
            if not ai.tool_calls:
                return str(ai.content)
            for call in ai.tool_calls:
                messages.append(tools[call["name"]].invoke(call, config=config))
        return str(messages[-1].content)

    incident_agent = RunnableLambda(loop).with_config(
        run_name="incident-agent", metadata={"genops_agent": "incident-agent"}
    )
    with genops.attribution(team="ops", project="incident-bot"):
        for question in INCIDENTS:
            with ctx.may_be_blocked() as caught:
                incident_agent.invoke(question)
            if caught:
                err = caught[0]
                ctx.note(f"blocked before sending: {err.reason_code} by {err.policy_name!r}")
            ctx.step()


SCENARIOS = [
    Scenario("langchain RAG", "langchain", "search", "retrieve, then answer",
             len(QUESTIONS) + 1, rag, ("gpt-4o-mini", "text-embedding-3-small"),
             requires=("langchain_openai", "genops_langchain")),
    Scenario("langchain agent", "langchain", "ops", "tool calls, an SSN blocked",
             len(INCIDENTS), agent, ("gpt-4o-mini",),
             requires=("langchain_openai", "genops_langchain")),
]  # fmt: skip
