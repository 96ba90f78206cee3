"""Fixtures for the LlamaIndex integration tests: a deterministic embedding model, the
real llama-index OpenAI LLM on the loopback fake provider, and the enabled adapter."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.llms.openai import OpenAI
from opentelemetry.sdk.trace import ReadableSpan

import genops
import genops_llamaindex
from tests.fakes.provider import FakeProvider
from tests.spans import parent_of

MODEL = "gpt-4o-mini"
DOCS = [
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Mount Fuji is the highest mountain in Japan.",
    "The Nile flows north into the Mediterranean Sea.",
]


class HashEmbedding(BaseEmbedding):
    """Deterministic 8-dimensional embeddings from a text hash (no provider)."""

    model_name: str = "hash-embedding-8"

    def _vector(self, text: str) -> list[float]:
        digest = hashlib.sha256(text.lower().encode()).digest()
        return [b / 255 for b in digest[:8]]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def llm(fake: FakeProvider) -> OpenAI:
    """llama-index's OpenAI LLM with its real SDK client on the fake (api.openai.com URL)."""
    return OpenAI(
        model=MODEL,
        api_key="sk-test",
        max_retries=0,
        http_client=httpx.Client(transport=fake.transport()),
        async_http_client=httpx.AsyncClient(transport=fake.transport()),
    )


@pytest.fixture
def instrumented(runtime: genops.GenOps) -> Iterator[genops_llamaindex.LlamaIndexInstrumentation]:
    handle = genops_llamaindex.enable()
    yield handle
    handle.uninstrument()


@pytest.fixture
def index(runtime: genops.GenOps) -> VectorStoreIndex:
    """Built before the adapter is enabled: the tests see only query-time spans."""
    return VectorStoreIndex.from_documents(
        [Document(text=t) for t in DOCS], embed_model=HashEmbedding()
    )


def outline(spans: list[ReadableSpan], root: ReadableSpan | None = None) -> list[str]:
    """The trace as indented names, children in start order (two spaces per level)."""
    out: list[str] = []

    def walk(parent: ReadableSpan | None, depth: int) -> None:
        kids = (
            [s for s in spans if parent_of(s, spans) is parent]
            if parent is None
            else [
                s
                for s in spans
                if s.parent is not None and s.parent.span_id == parent.context.span_id
            ]
        )
        for kid in sorted(kids, key=lambda s: s.start_time or 0):
            out.append("  " * depth + kid.name)
            walk(kid, depth + 1)

    if root is None:
        walk(None, 0)
    else:
        out.append(root.name)
        walk(root, 1)
    return out
