"""Report formats: ``table`` (rich), ``csv``, ``json``, ``html`` and ``focus`` (FOCUS 1.2 CSV)."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Final

from genops.report.data import ReportData

FORMATS: Final = ("table", "csv", "json", "html", "focus")


def iso(ts: float) -> str:
    """UTC ISO 8601 with a ``Z`` (what FOCUS and the JSON output use)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def render(data: ReportData, fmt: str, *, store: object = None) -> str:
    """The report as text in ``fmt`` (``focus`` needs the ``store`` to read unit rows)."""
    if fmt == "csv":
        return _csv(data)
    if fmt == "json":
        return _json(data)
    if fmt == "html":
        from genops.report.html import html

        return html(data)
    if fmt == "focus":
        from genops.report.focus import focus_csv
        from genops.store import LocalStore

        if not isinstance(store, LocalStore):
            raise ValueError("the focus format reads unit rows: pass the store")
        return focus_csv(store, data.query)
    if fmt == "table":
        return table(data)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


def _csv(data: ReportData) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=data.columns, lineterminator="\n")
    writer.writeheader()
    for row in data.rows:
        writer.writerow({**row, "cost": f"{row['cost']:.10f}"})
    return out.getvalue()


def _json(data: ReportData) -> str:
    doc = {
        "from": iso(data.query.since),
        "to": iso(data.query.until),
        "by": list(data.query.by),
        "filters": dict(data.query.filters),
        "currency": "USD",
        "rows": data.rows,
        "total": data.total,
    }
    return json.dumps(doc, indent=2) + "\n"


def table(data: ReportData) -> str:
    """A rich table, rendered to plain text (no colour codes when not on a terminal)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(
        title=f"Spend {iso(data.query.since)} → {iso(data.query.until)}",
        caption=f"store: {data.store}",
    )
    for col in data.query.by:
        t.add_column(col)
    for col in ("calls", "blocked", "input tokens", "output tokens", "unknown cost", "cost USD"):
        t.add_column(col, justify="right")
    for row in data.rows:
        t.add_row(*_cells(data, row))
    if data.rows:
        t.add_section()
        t.add_row(*_cells(data, {**data.total, **dict.fromkeys(data.query.by, "")}, "total"))
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(t)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def _cells(data: ReportData, row: dict[str, object], label: str = "") -> list[str]:
    groups = [str(row[c]) for c in data.query.by]
    if label and groups:
        groups[0] = label
    return [
        *groups,
        str(row["calls"]),
        str(row["blocked"]),
        f"{row['input_tokens']:,}",
        f"{row['output_tokens']:,}",
        str(row["cost_unknown_units"]),
        f"{row['cost']:.6f}",
    ]
