"""Everything one report shows, read from the store in a handful of indexed queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genops.store import LocalStore, Query, decisions, spend


@dataclass(frozen=True, slots=True)
class ReportData:
    """The rows of one report plus the series its charts draw."""

    query: Query
    store: str
    rows: list[dict[str, Any]]
    total: dict[str, Any]
    by_day_team: list[dict[str, Any]]
    by_model: list[dict[str, Any]]
    decisions: list[dict[str, Any]]

    @property
    def columns(self) -> list[str]:
        return [*self.query.by, "calls", "blocked", "input_tokens", "output_tokens",
                "cost_unknown_units", "cost"]  # fmt: skip


def _total(store: LocalStore, q: Query) -> dict[str, Any]:
    ungrouped = Query(q.since, q.until, (), q.filters)
    found = spend(store, ungrouped)
    if found:
        return found[0]
    return {"calls": 0, "blocked": 0, "input_tokens": 0, "output_tokens": 0,
            "cost_unknown_units": 0, "cost": 0.0}  # fmt: skip


def build(store: LocalStore, q: Query, *, charts: bool = False) -> ReportData:
    """Query the store; ``charts`` adds the series the HTML report draws."""
    extra: dict[str, list[dict[str, Any]]] = {"by_day_team": [], "by_model": [], "decisions": []}
    if charts:
        extra["by_day_team"] = spend(store, Query(q.since, q.until, ("day", "team"), q.filters))
        extra["by_model"] = spend(store, Query(q.since, q.until, ("model",), q.filters))
        extra["decisions"] = decisions(store, q)
    return ReportData(
        query=q,
        store=str(store.path),
        rows=spend(store, q),
        total=_total(store, q),
        **extra,
    )
