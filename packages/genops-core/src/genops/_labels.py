"""Built-once attribute sets for the hot path: metric label sets and span start attributes.

A governed unit's metric labels depend on (operation, attribution, provider, model);
building and guarding them on every record cost more than the records' own arithmetic.
:class:`LabelCache` builds each set once, passes it through the cardinality guard once
and hands out the same dict afterwards (variants such as ``+ gen_ai.token.type`` are
cached too). :class:`AttributeCache` does the same for unit span start attributes.
Both are bounded (cleared when full: keys come from user input).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from genops.cardinality import LabelGuard


class LabelSet:
    """One metric label set, built and passed through the cardinality guard once.

    ``labels`` is shared by every record with these labels: never mutate it; derive
    variants with :meth:`with_label` (built once each, too).
    """

    __slots__ = ("_derived", "collapsed", "labels")

    def __init__(self, labels: dict[str, Any], collapsed: tuple[str, ...]) -> None:
        self.labels = labels
        #: guarded labels whose value was replaced by the overflow value
        self.collapsed = collapsed
        self._derived: dict[tuple[str, Any], dict[str, Any]] = {}

    def with_label(self, key: str, value: Any) -> dict[str, Any]:
        """``labels`` plus ``key=value`` (cached)."""
        found = self._derived.get((key, value))
        if found is None:
            found = self._derived[(key, value)] = {**self.labels, key: value}
        return found


class LabelCache:
    """Metric label sets keyed by what they are made of: a unit's labels are built and
    guarded once per (operation, attribution, provider, model), not on every record.

    A hit counts the guard's collapses again (``genops.metrics.label_overflow`` keeps
    counting every collapsed record, as without the cache). Bounded: cleared when full.
    """

    LIMIT = 4096

    def __init__(self, guard: LabelGuard) -> None:
        self._guard = guard
        self._sets: dict[Hashable, LabelSet] = {}

    def get(self, key: Hashable, build: Callable[[], dict[str, Any]]) -> LabelSet:
        found = self._sets.get(key)
        if found is None:
            raw = build()
            guarded = self._guard.apply(dict(raw))
            collapsed = tuple(k for k, v in guarded.items() if raw.get(k) != v)
            if len(self._sets) >= self.LIMIT:
                self._sets.clear()
            found = self._sets[key] = LabelSet(guarded, collapsed)
            return found  # the guard counted these collapses itself
        for label in found.collapsed:
            self._guard.count_overflow(label)
        return found


class AttributeCache:
    """Span start attributes by key (shared: start_span copies them; never mutate)."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._sets: dict[Hashable, Mapping[str, Any]] = {}

    def get(self, key: Hashable, build: Callable[[], dict[str, Any]]) -> Mapping[str, Any]:
        """The attributes for ``key``; an unhashable key (a list among the extra
        attribute values) is not cached: built each time."""
        try:
            found = self._sets.get(key)
        except TypeError:
            return build()
        if found is None:
            if len(self._sets) >= self.LIMIT:
                self._sets.clear()
            found = self._sets[key] = build()
        return found
