"""The metric label cardinality guard.

Every metric genops records carries attribution labels (team, project, environment,
provider, model, and customer when enabled). A label that sees more than ``limit``
distinct values keeps the first ``limit`` and records every later value as the
overflow value (default ``_OTHER``, the semantic conventions' spelling for "something
else"), counting each collapse in ``genops.metrics.label_overflow{genops.metrics.label}``
— so a runaway label (a customer id by mistake, a model string with a timestamp) cannot
blow up the metrics backend, and you can see that it tried::

    genops.init(metric_label_limit=500, metric_label_overflow="_OTHER")

Spans are never affected: they always carry the real values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

DEFAULT_LIMIT = 200
DEFAULT_OVERFLOW = "_OTHER"


class LabelGuard:
    """Caps the distinct values of each guarded label (thread-safe; a set look-up per label)."""

    def __init__(
        self,
        guarded: Iterable[str],
        *,
        limit: int = DEFAULT_LIMIT,
        overflow: str = DEFAULT_OVERFLOW,
        on_overflow: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"metric_label_limit must be an int >= 1, got {limit!r}")
        if not isinstance(overflow, str) or not overflow:
            raise ValueError(f"metric_label_overflow must be a non-empty string, got {overflow!r}")
        self.limit = limit
        self.overflow = overflow
        self._seen: dict[str, set[str]] = {label: set() for label in guarded}
        self._lock = threading.Lock()
        self._on_overflow = on_overflow

    def apply(self, labels: dict[str, object]) -> dict[str, object]:
        """Replace, in place, each guarded label value past the limit by the overflow value."""
        for label, seen in self._seen.items():
            value = labels.get(label)
            if not isinstance(value, str) or value in seen:
                continue
            if not self._admit(seen, value):
                labels[label] = self.overflow
                if self._on_overflow is not None:
                    self._on_overflow(label)
        return labels

    def count_overflow(self, label: str) -> None:
        """Count one more collapse of ``label`` (a cached label set replaying its own)."""
        if self._on_overflow is not None:
            self._on_overflow(label)

    def _admit(self, seen: set[str], value: str) -> bool:
        with self._lock:
            if value in seen:
                return True
            if len(seen) >= self.limit:
                return False
            seen.add(value)
            return True

    def distinct(self, label: str) -> int:
        """How many distinct values of ``label`` are kept (at most ``limit``)."""
        return len(self._seen.get(label, ()))
