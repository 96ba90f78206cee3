"""Roll-up of cost and tokens onto parent spans that are not units themselves.

Chains, agents, retrievers and workflows are not AI Workload Units, yet "what did
this agent turn cost" should be one attribute on its span. A :class:`Rollup`
accumulates the cost and tokens of every unit finished beneath it (and of nested
roll-ups), and writes ``genops.rollup.*`` attributes when it is closed::

    with genops.rollup_span("invoke_workflow support-answer") as span:
        answer = chain.invoke(question)   # units inside add to the roll-up

Adapters that track framework ids create ``Rollup(span, parent=parent_rollup)``
explicitly and pass it to ``governed(..., rollup=...)``.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from opentelemetry.trace import Span, SpanKind

from genops import attributes as A

_current: contextvars.ContextVar[Rollup | None] = contextvars.ContextVar(
    "genops_rollup", default=None
)


class Rollup:
    """Thread-safe accumulator of descendants' cost and tokens for one span."""

    __slots__ = (
        "_closed",
        "_lock",
        "cost",
        "input_tokens",
        "output_tokens",
        "parent",
        "span",
        "units",
        "unknown_cost_units",
    )

    def __init__(self, span: Span | None, parent: Rollup | None = None) -> None:
        self.span = span
        self.parent = parent
        self.cost = Decimal(0)
        self.unknown_cost_units = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.units = 0
        self._closed = False
        self._lock = threading.Lock()

    def add(
        self, cost: Decimal | None, input_tokens: int, output_tokens: int, units: int = 1
    ) -> None:
        """Add one finished unit (or a child roll-up's totals); propagates upwards."""
        node: Rollup | None = self
        while node is not None:
            with node._lock:
                if cost is None:
                    node.unknown_cost_units += units
                else:
                    node.cost += cost
                node.input_tokens += input_tokens
                node.output_tokens += output_tokens
                node.units += units
            node = node.parent

    def attributes(self) -> dict[str, Any]:
        """The ``genops.rollup.*`` attributes for the totals so far."""
        with self._lock:
            attrs: dict[str, Any] = {
                A.ROLLUP_UNITS: self.units,
                A.ROLLUP_TOKENS_INPUT: self.input_tokens,
                A.ROLLUP_TOKENS_OUTPUT: self.output_tokens,
                A.ROLLUP_TOKENS_TOTAL: self.input_tokens + self.output_tokens,
            }
            if self.units > self.unknown_cost_units:
                attrs[A.ROLLUP_COST_TOTAL] = float(self.cost)
            if self.unknown_cost_units:
                attrs[A.ROLLUP_COST_UNKNOWN_UNITS] = self.unknown_cost_units
            return attrs

    def close(self) -> None:
        """Write the totals onto the span (once). Call before ending the span."""
        if self._closed:
            return
        self._closed = True
        if self.span is not None and self.units:
            self.span.set_attributes(self.attributes())


def push_rollup(rollup: Rollup) -> contextvars.Token[Rollup | None]:
    """Make ``rollup`` current in this context; undo with :func:`pop_rollup`."""
    return _current.set(rollup)


def pop_rollup(token: contextvars.Token[Rollup | None]) -> None:
    """Undo :func:`push_rollup` (tolerates a token from another context)."""
    try:
        _current.reset(token)
    except ValueError:
        pass


def current_rollup() -> Rollup | None:
    """The innermost roll-up opened with :func:`rollup_span` in this context."""
    return _current.get()


@contextmanager
def rollup_span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """Open a span whose attributes sum the cost and tokens of every unit inside."""
    from genops.runtime import get_runtime

    tracer = get_runtime().instruments.tracer
    with tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        rollup = Rollup(span, parent=_current.get())
        token = _current.set(rollup)
        try:
            yield span
        finally:
            _current.reset(token)
            rollup.close()
