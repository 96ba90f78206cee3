"""Instrumentation must never break the user's app.

Internal errors are caught, logged **once** per place, and counted (metric
``genops.internal.errors``). Under pytest (``PYTEST_CURRENT_TEST`` set) or with
``GENOPS_RAISE_INTERNAL_ERRORS=1`` they are re-raised instead, so bugs surface in
tests; :func:`raise_internal_errors` overrides both.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from genops.decision import PolicyViolationError

log = logging.getLogger("genops")

_lock = threading.Lock()
_logged: set[str] = set()
_counts: dict[str, int] = {}
_override: bool | None = None
_counter_hook: Callable[[str], None] | None = None


def set_counter_hook(hook: Callable[[str], None] | None) -> None:
    """Called with the place of each internal error (wired to a metric by the runtime)."""
    global _counter_hook
    _counter_hook = hook


def should_raise() -> bool:
    """True when internal errors propagate (tests) instead of being swallowed."""
    if _override is not None:
        return _override
    return (
        "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("GENOPS_RAISE_INTERNAL_ERRORS") == "1"
    )


@contextmanager
def raise_internal_errors(enabled: bool) -> Iterator[None]:
    """Force internal errors to propagate (True) or be swallowed (False) inside the block."""
    global _override
    previous, _override = _override, enabled
    try:
        yield
    finally:
        _override = previous


def report(exc: BaseException, where: str) -> None:
    """Log (first time per ``where``), count, and re-raise when :func:`should_raise`."""
    with _lock:
        _counts[where] = _counts.get(where, 0) + 1
        first = where not in _logged
        _logged.add(where)
    if first:
        log.error(
            "genops internal error in %s (further ones are counted, not logged)",
            where,
            exc_info=exc,
        )
    hook = _counter_hook
    if hook is not None:
        try:
            hook(where)
        except Exception:  # the counter must never be the second failure
            pass
    if should_raise():
        raise exc


def count_only(where: str) -> None:
    """Count an internal error that the caller handled (no log, never re-raised)."""
    with _lock:
        _counts[where] = _counts.get(where, 0) + 1
    hook = _counter_hook
    if hook is not None:
        try:
            hook(where)
        except Exception:
            pass


def error_counts() -> dict[str, int]:
    """Internal errors counted so far, by place."""
    with _lock:
        return dict(_counts)


def reset() -> None:
    """Forget logged places and counts (tests)."""
    with _lock:
        _logged.clear()
        _counts.clear()


@contextmanager
def guard(where: str) -> Iterator[None]:
    """Run instrumentation code; an exception inside is reported, not propagated.

    A :class:`~genops.PolicyViolationError` is a decision, not an internal error: it
    always propagates, so an adapter's ``start_call`` inside a guard still stops the call.
    """
    try:
        yield
    except PolicyViolationError:
        raise
    except Exception as exc:
        report(exc, where)


def safe_call(where: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or ``None`` after reporting if it raised (a
    :class:`~genops.PolicyViolationError` propagates, as in :func:`guard`)."""
    try:
        return fn(*args, **kwargs)
    except PolicyViolationError:
        raise
    except Exception as exc:
        report(exc, where)
        return None
