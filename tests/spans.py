"""Span-tree helpers shared by the framework adapter tests."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.sdk.trace import ReadableSpan


def parent_of(span: ReadableSpan, spans: Iterable[ReadableSpan]) -> ReadableSpan | None:
    """The exported parent of ``span`` (None for a root)."""
    if span.parent is None:
        return None
    for s in spans:
        if s.context.span_id == span.parent.span_id:
            return s
    raise AssertionError(f"parent of {span.name!r} was not exported")
