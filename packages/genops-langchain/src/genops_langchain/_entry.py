"""One open LangChain run in the handler's map, and how it ends."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.trace import Span, Status, StatusCode

from genops import GovernedUnit, PolicyViolationError, Rollup
from genops import attributes as A
from genops._record import error_type
from genops_langchain import _covered


class RunEvicted(Exception):
    """Recorded on a span whose run never reported an end before the map overflowed."""


RunEvicted.__module__ = "genops_langchain"


@dataclass(slots=True)
class Entry:
    """One open run: its span, and either a unit (LLM runs) or a roll-up (everything else)."""

    span: Span
    rollup: Rollup | None
    unit: GovernedUnit | None = None
    agent: str | None = None
    owned: bool = True  # False for a hidden run that borrows its parent's span
    streamed: bool = False
    covered: _covered.Covered | None = None  # an LLM run inside the user's own unit


def end(entry: Entry, error: BaseException | None) -> None:
    """End an entry's span (or finish its unit), recording ``error`` if any."""
    if not entry.owned:
        return
    if entry.unit is not None:
        entry.unit.finish(error)
        return
    span = entry.span
    if error is not None:
        span.set_attribute(A.ERROR_TYPE, error_type(error))
        span.set_status(Status(StatusCode.ERROR, str(error)[:1024] or type(error).__name__))
        if not isinstance(error, PolicyViolationError | RunEvicted):
            span.record_exception(error)
    if entry.rollup is not None:
        entry.rollup.close()
    span.end()
