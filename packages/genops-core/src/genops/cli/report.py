"""``genops report``: spend over the local store, in five formats."""

from __future__ import annotations

import calendar
import time
from pathlib import Path

import click

from genops.cli._common import EXIT_ERROR, Failure, out
from genops.report import FORMATS, build, render
from genops.store import GROUPS, LocalStore, Query, default_path


def _when(text: str, option: str) -> float:
    """``2026-11-23`` or ``2026-11-23T08:00[:00]`` (UTC) → Unix seconds."""
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(text.rstrip("Z"), fmt)))
        except ValueError:
            continue
    raise Failure(f"{option}: expected a UTC date or time like 2026-11-23 or 2026-11-23T08:00")


def query_from(
    since: str | None, start: str | None, end: str | None, by: str, filters: dict[str, str]
) -> Query:
    """The query the options describe (``--since`` and ``--from/--to`` exclude each other)."""
    fields = tuple(f.strip() for f in by.split(",") if f.strip())
    if since and (start or end):
        raise Failure("--since cannot be combined with --from/--to")
    if start or end:
        until = _when(end, "--to") if end else time.time() + 1e-6
        begin = _when(start, "--from") if start else 0.0
        return Query(begin, until, fields, filters)
    return Query.last(since or "7d", by=fields, filters=filters)


@click.command()
@click.option("--since", help="the last DURATION (30m, 24h, 7d; default 7d)")
@click.option("--from", "start", metavar="DATE", help="UTC start, e.g. 2026-11-23")
@click.option("--to", "end", metavar="DATE", help="UTC end (exclusive), e.g. 2026-11-30")
@click.option(
    "--by",
    default="team",
    show_default=True,
    help=f"comma-separated grouping: {', '.join(GROUPS)}",
)
@click.option("--team", help="only this team")
@click.option("--project", help="only this project")
@click.option("--customer", help="only this customer_id")
@click.option("--model", help="only this request model")
@click.option("--provider", help="only this provider")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="table, csv, json, html (self-contained, charts) or focus (FinOps FOCUS 1.2 CSV)",
)  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="write here")
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="local store file (default: $GENOPS_LOCAL_STORE or ~/.local/share/genops/spend.db)",
)
def report(
    since: str | None,
    start: str | None,
    end: str | None,
    by: str,
    team: str | None,
    project: str | None,
    customer: str | None,
    model: str | None,
    provider: str | None,
    fmt: str,
    output: Path | None,
    store: Path | None,
) -> None:
    """Spend, calls, tokens and blocked units from the local store.

    \b
    genops report --since 7d --team search          # "what did team search spend last week?"
    genops report --from 2026-11-01 --to 2026-12-01 --by team,model --format csv
    genops report --format html -o spend.html       # charts, one self-contained file
    genops report --format focus -o focus.csv       # FinOps FOCUS 1.2 for a FinOps tool
    """
    candidates = {
        "team": team, "project": project, "customer": customer, "model": model,
        "provider": provider,
    }  # fmt: skip
    filters = {k: v for k, v in candidates.items() if v}
    q = query_from(since, start, end, by, filters)
    path = store or default_path()
    try:
        db = LocalStore(path, readonly=True)
    except FileNotFoundError:
        raise Failure(
            f"no local store at {path} (run `genops demo`, or genops.init() with no OTLP "
            "endpoint, first; or pass --store)",
            EXIT_ERROR,
        ) from None
    try:
        data = build(db, q, charts=fmt == "html")
        text = render(data, fmt, store=db)
    finally:
        db.close()
    if output is not None:
        output.write_text(text, encoding="utf-8")
        out().write(f"wrote {fmt} report to {output} ({len(data.rows)} rows)\n")
    else:
        out().write(text)
