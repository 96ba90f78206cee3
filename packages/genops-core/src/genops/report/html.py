"""The self-contained HTML report: inline CSS, inline SVG charts, no network loads.

Charts: spend over time by team (stacked bars per UTC day), spend by model, and
decisions by reason. A few lines of inline script re-add the table's rows and mark
``<body data-check>`` ``ok`` when they equal the stated total (the browser test reads it).
"""

from __future__ import annotations

import time
from collections import defaultdict
from html import escape
from typing import Final

from genops.report.data import ReportData
from genops.report.render import iso

PALETTE: Final = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                  "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")  # fmt: skip
_W: Final = 720

_STYLE: Final = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}
td.n{text-align:right;font-variant-numeric:tabular-nums}svg{display:block;margin:1em 0}
.legend span{display:inline-block;margin-right:1em}.legend i{display:inline-block;
width:10px;height:10px;margin-right:4px}
"""

_CHECK: Final = """
(function(){
  var sum=0;document.querySelectorAll('tr.row td.cost').forEach(function(td){
    sum+=parseFloat(td.dataset.value);});
  var total=parseFloat(document.getElementById('total-cost').dataset.value);
  document.body.dataset.sum=sum.toFixed(9);
  document.body.dataset.check=Math.abs(sum-total)<1e-9?'ok':'mismatch';
})();
"""


def _bars(
    items: list[tuple[str, float]], chart_id: str, title: str, unit: str, label_w: int = 200
) -> str:
    """Horizontal bars, one per item, after a ``label_w`` pixels wide label column."""
    top = max((v for _, v in items), default=0.0) or 1.0
    row_h = 22
    parts = [f'<svg id="{chart_id}" role="img" aria-label="{escape(title)}" width="{_W}" '
             f'height="{row_h * len(items) + 10}" xmlns="http://www.w3.org/2000/svg">']  # fmt: skip
    for i, (label, value) in enumerate(items):
        width = max(1.0, (_W - label_w - 120) * value / top)
        y = i * row_h + 5
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{width:.1f}" height="16" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {value:g} {unit}</title>'
            f'</rect><text x="{label_w + 5 + width:.1f}" y="{y + 14}" font-size="12">'
            f"{value:g} {unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _days(since: float, until: float) -> list[str]:
    """Every UTC day of the range (at most 400: an unbounded --from starts at the data)."""
    first = max(since, until - 400 * 86_400)
    day = int(first // 86_400)
    return [
        time.strftime("%Y-%m-%d", time.gmtime(d * 86_400))
        for d in range(day, int(until // 86_400) + 1)
    ]


def _over_time(data: ReportData) -> str:
    """Stacked bars: one column per day, one colour per team."""
    days = _days(data.query.since, data.query.until)
    teams = sorted({r["team"] for r in data.by_day_team})
    colour = {t: PALETTE[i % len(PALETTE)] for i, t in enumerate(teams)}
    per_day: dict[str, dict[str, float]] = defaultdict(dict)
    for r in data.by_day_team:
        per_day[r["day"]][r["team"]] = r["cost"]
    top = max((sum(v.values()) for v in per_day.values()), default=0.0) or 1.0
    height, slot = 220, (_W - 40) / max(1, len(days))
    parts = [
        '<svg id="chart-over-time" role="img" aria-label="spend over time by team" '
        f'width="{_W}" height="{height + 40}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for d, day in enumerate(days):
        y = float(height)
        for team in teams:
            cost = per_day[day].get(team, 0.0)
            if cost <= 0:
                continue
            h = height * cost / top
            y -= h
            parts.append(
                f'<rect class="bar" x="{40 + d * slot:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" '
                f'height="{h:.1f}" fill="{colour[team]}"><title>{escape(day)} {escape(team)}: '
                f"${cost:.6f}</title></rect>"
            )
        if len(days) <= 31 or d % max(1, len(days) // 12) == 0:
            parts.append(
                f'<text x="{40 + d * slot:.1f}" y="{height + 16}" font-size="10">'
                f"{escape(day[5:])}</text>"
            )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{c}"></i>{escape(t)}</span>' for t, c in colour.items()
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _table(data: ReportData) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in data.columns)
    body = []
    for row in data.rows:
        cells = "".join(f"<td>{escape(str(row[c]))}</td>" for c in data.query.by)
        cells += "".join(
            f'<td class="n">{row[c]}</td>'
            for c in ("calls", "blocked", "input_tokens", "output_tokens", "cost_unknown_units")
        )
        cells += f'<td class="n cost" data-value="{row["cost"]!r}">{row["cost"]:.6f}</td>'
        body.append(f'<tr class="row">{cells}</tr>')
    t = data.total
    span = len(data.query.by)
    total = (
        f'<tr class="total"><th colspan="{span}">total</th>'
        + "".join(
            f'<td class="n">{t[c]}</td>'
            for c in ("calls", "blocked", "input_tokens", "output_tokens", "cost_unknown_units")
        )
        + f'<td class="n" id="total-cost" data-value="{t["cost"]!r}">{t["cost"]:.6f}</td></tr>'
    )
    return f'<table id="spend"><tr>{head}</tr>{"".join(body)}{total}</table>'


def html(data: ReportData) -> str:
    """One HTML document; it references no external resource."""
    q = data.query
    filters = ", ".join(f"{k}={v}" for k, v in q.filters.items()) or "none"
    models = [(str(r["model"]), round(float(r["cost"]), 9)) for r in data.by_model]
    reasons = [
        (f"{r['decision']} {r['reason_code']} ({r['policy']})", float(r["units"]))
        for r in data.decisions
    ]
    sections: list[str] = [
        f"<h1>genops spend report</h1><p>{iso(q.since)} → {iso(q.until)} · filters: "
        f"{escape(filters)} · currency USD (list prices) · store {escape(data.store)}</p>",
        "<h2>Spend over time by team</h2>",
        _over_time(data),
        "<h2>Spend by model</h2>",
        _bars(models, "chart-by-model", "spend by model", "USD"),
        "<h2>Decisions by reason</h2>",
        _bars(reasons, "chart-decisions", "decisions by reason", "units", label_w=420)
        if reasons
        else '<p id="chart-decisions">No warned, blocked or rate-limited units.</p>',
        f"<h2>Spend by {escape(', '.join(q.by) or 'total')}</h2>",
        _table(data),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>genops spend report</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(sections)}"
        f"<script>{_CHECK}</script></body></html>\n"
    )
