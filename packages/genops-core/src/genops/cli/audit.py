"""``genops audit``: the durable trail of policy decisions, newest first."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from genops import attributes as A
from genops.cli._common import EXIT_ERROR, Failure, out, policy_file


def _sink_url(sink: str | None, policy: str | None) -> str:
    from genops.policy.loader import load

    url = sink or os.environ.get(A.ENV_AUDIT_SINK)
    if not url:
        path = policy_file(policy)
        if path:
            url = load(path).audit_sink
    if not url:
        raise Failure("no audit sink: pass --sink, set GENOPS_AUDIT_SINK or an audit: section")
    return url


@click.command()
@click.option("--sink", help="jsonl:///path or sqlite:///path (default: $GENOPS_AUDIT_SINK)")
@click.option("--policy-file", help="read the sink from a policy file's audit: section")
@click.option("--result", type=click.Choice(["ALLOWED", "WARNING", "RATE_LIMITED", "BLOCKED"]))
@click.option("--policy", help="only this policy's decisions")
@click.option("--team", help="only this team")
@click.option("--project", help="only this project")
@click.option("--customer", help="only this customer_id")
@click.option("--since", help="only newer records: a duration such as 30m, 24h, 7d")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON lines")
def audit(
    sink: str | None,
    policy_file: str | None,
    result: str | None,
    policy: str | None,
    team: str | None,
    project: str | None,
    customer: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Who was blocked, when, by which rule. Exit 1 when nothing matches, or when the
    sink file does not exist; a mistyped sink URL is a usage error (exit 2).

    \b
    genops audit --result BLOCKED --team support --since 24h --sink sqlite:///audit.db
    """
    from genops.audit import open_sink
    from genops.policy.windows import parse_duration

    url = _sink_url(sink, policy_file)
    opened = open_sink(url)  # ValueError for an unknown scheme → exit 2
    path = getattr(opened, "path", None)
    if isinstance(path, Path) and not path.exists():
        raise Failure(f"audit sink {url}: {path} does not exist", EXIT_ERROR)
    cutoff = time.time() - parse_duration(since) if since else None
    try:
        records = opened.query(
            since=cutoff, result=result, policy=policy, team=team, project=project,
            customer_id=customer, limit=limit + 1,
        )  # fmt: skip
    finally:
        opened.close()
    truncated = len(records) > limit
    records = records[:limit]
    o = out()
    for rec in records:
        if as_json:
            o.write(json.dumps(rec) + "\n")
            continue
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(rec.get("ts") or 0)))
        code = rec.get("reason_code") or "-"
        o.write(
            f"{when}  {rec.get('result', '?'):<12} {code:<26} {rec.get('policy') or '-':<22} "
            f"team={rec.get('team') or '-'} project={rec.get('project') or '-'} "
            f"customer={rec.get('customer_id') or '-'} model={rec.get('model') or '-'} "
            f"trace={rec.get('trace_id') or '-'}\n"
        )
    if truncated:
        sys.stderr.write(f"genops: showing the newest {limit} records; more match (--limit)\n")
    if not records:
        raise click.exceptions.Exit(EXIT_ERROR)
