"""Fixtures and span-tree helpers for the LangChain integration tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

import genops
from genops_langchain import GenOpsCallbackHandler
from tests.spans import parent_of


@pytest.fixture
def handler(runtime: genops.GenOps) -> GenOpsCallbackHandler:
    return GenOpsCallbackHandler()


def by_name(spans: Iterable[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    out: dict[str, list[ReadableSpan]] = {}
    for s in spans:
        out.setdefault(s.name, []).append(s)
    return out


def tree(spans: list[ReadableSpan]) -> list[tuple[str, str | None]]:
    """(span name, parent name) pairs, sorted: the shape of the trace."""
    return sorted(
        (s.name, p.name if (p := parent_of(s, spans)) is not None else None) for s in spans
    )


def same_trace(spans: list[ReadableSpan]) -> bool:
    return len({s.context.trace_id for s in spans}) == 1


@contextmanager
def native_chat_openai(handler: Callable[[Any], Any], **kwargs: Any) -> Iterator[Any]:
    """A real ChatOpenAI on an httpx transport answered by ``handler``, with the
    genops-native OpenAI layer underneath (uninstrumented afterwards)."""
    import httpx
    from langchain_openai import ChatOpenAI

    import genops_native

    transport = httpx.MockTransport(handler)
    handle = genops_native.instrument_openai()
    try:
        yield ChatOpenAI(
            model="gpt-4o-mini",
            api_key="sk-test",
            base_url="https://api.openai.com/v1",
            max_retries=0,
            http_client=httpx.Client(transport=transport),
            http_async_client=httpx.AsyncClient(transport=transport),
            **kwargs,
        )
    finally:
        handle.uninstrument()
