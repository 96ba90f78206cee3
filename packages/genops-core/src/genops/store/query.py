"""Questions the local store answers: spend by any grouping, over a time range.

::

    from genops.store import LocalStore, Query, spend
    store = LocalStore(readonly=True)
    rows = spend(store, Query.last("7d", by=("team", "model"), filters={"team": "support"}))
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from genops.policy.windows import parse_duration
from genops.store.db import LocalStore
from genops.store.schema import COLUMNS

#: ``--by`` fields and the SQL expression of each.
GROUPS: Final = {
    "team": "team",
    "project": "project",
    "customer": "COALESCE(customer_id, '-')",
    "feature": "COALESCE(feature, '-')",
    "environment": "COALESCE(environment, '-')",
    "model": "COALESCE(model, '-')",
    "provider": "COALESCE(provider, '-')",
    "day": "strftime('%Y-%m-%d', ts, 'unixepoch')",
}
#: filter name → column
FILTERS: Final = {
    "team": "team",
    "project": "project",
    "customer": "customer_id",
    "model": "model",
    "provider": "provider",
}
_BLOCKED: Final = "decision IN ('BLOCKED', 'RATE_LIMITED')"
MEASURES: Final = (
    ("calls", f"SUM(role = 'call' AND NOT ({_BLOCKED}))"),
    ("blocked", f"SUM({_BLOCKED})"),
    ("input_tokens", "SUM(input_tokens)"),
    ("output_tokens", "SUM(output_tokens)"),
    ("cost_unknown_units", "SUM(cost_unknown)"),
    ("cost", "SUM(cost)"),
)


@dataclass(frozen=True, slots=True)
class Query:
    """A time range ``[since, until)`` (Unix seconds), a grouping and equality filters."""

    since: float
    until: float
    by: tuple[str, ...] = ("team",)
    filters: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [g for g in self.by if g not in GROUPS]
        if unknown:
            raise ValueError(f"--by: unknown field {unknown[0]!r} (one of {', '.join(GROUPS)})")
        bad = [f for f in self.filters if f not in FILTERS]
        if bad:
            raise ValueError(f"unknown filter {bad[0]!r} (one of {', '.join(FILTERS)})")
        if self.until <= self.since:
            raise ValueError("the time range is empty: --to must be after --from")

    @classmethod
    def last(
        cls,
        duration: str,
        *,
        by: tuple[str, ...] = ("team",),
        filters: Mapping[str, str] | None = None,
        now: float | None = None,
    ) -> Query:
        """The last ``duration`` (``30m``, ``24h``, ``7d``) up to now."""
        end = time.time() if now is None else now
        return cls(end - parse_duration(duration), end + 1e-6, by, dict(filters or {}))

    def where(self) -> tuple[str, list[Any]]:
        clauses = ["ts >= ?", "ts < ?"]
        params: list[Any] = [self.since, self.until]
        for name, value in self.filters.items():
            clauses.append(f"{FILTERS[name]} = ?")
            params.append(value)
        return " AND ".join(clauses), params


def spend(store: LocalStore, q: Query) -> list[dict[str, Any]]:
    """One dict per group: the ``by`` fields, then calls, blocked, tokens, unknown, cost."""
    where, params = q.where()
    groups = [GROUPS[g] for g in q.by]
    select = ", ".join([*groups, *(expr for _, expr in MEASURES)])
    sql = f"SELECT {select} FROM units WHERE {where}"
    if groups:
        order = ", ".join(str(i + 1) for i in range(len(groups)))
        sql += f" GROUP BY {order} ORDER BY {order}"
    names = [*q.by, *(name for name, _ in MEASURES)]
    out = []
    for values in store.execute(sql, params):
        rec = dict(zip(names, values, strict=True))
        if rec["calls"] is None:  # no rows at all (ungrouped query)
            continue
        rec["cost"] = float(rec["cost"] or 0.0)
        out.append(rec)
    return out


def decisions(store: LocalStore, q: Query) -> list[dict[str, Any]]:
    """Non-ALLOWED decisions by result and reason code (most frequent first)."""
    where, params = q.where()
    sql = (
        "SELECT decision, COALESCE(reason_code, '-'), COALESCE(policy, '-'), COUNT(*) FROM units "
        f"WHERE {where} AND decision IS NOT NULL AND decision != 'ALLOWED' "
        "GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2"
    )
    return [
        {"decision": d, "reason_code": r, "policy": p, "units": n}
        for d, r, p, n in store.execute(sql, params)
    ]


def units(store: LocalStore, q: Query) -> Iterator[dict[str, Any]]:
    """Every stored unit in the range (oldest first), as column → value."""
    where, params = q.where()
    sql = f"SELECT {', '.join(COLUMNS)} FROM units WHERE {where} ORDER BY ts"
    for values in store.execute(sql, params):
        yield dict(zip(COLUMNS, values, strict=True))
