"""Fixtures and span-tree helpers for the LangChain integration tests."""

from __future__ import annotations

from collections.abc import Iterable

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
