"""The ``genops`` command line: budget positions and the audit trail, without a tracing backend.

    genops budget-status support-monthly team=support --policy genops-policy.yaml
    genops audit --result BLOCKED --team support --since 24h --sink sqlite:///audit.db
    genops validate genops-policy.yaml

Configuration comes from the flags, else the environment (``GENOPS_POLICY_FILE``,
``GENOPS_LEDGER_URL``, ``GENOPS_AUDIT_SINK``), else the policy file's ``ledger:`` and
``audit:`` sections. Exit codes: 0 ok, 1 nothing found / unavailable, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from genops import attributes as A
from genops.ledger import LedgerUnavailable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genops", description="genops: budget positions and the audit trail, from the shell"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    bs = sub.add_parser("budget-status", help="consumed / reserved / remaining of a budget")
    bs.add_argument("name", nargs="?", help="budget (or rate_limit) policy name; omit to list")
    bs.add_argument("per", nargs="*", help="per values as field=value (e.g. team=support)")
    bs.add_argument("--policy", help="policy file (default: $GENOPS_POLICY_FILE)")
    bs.add_argument("--ledger", help="ledger URL (default: $GENOPS_LEDGER_URL or the file's)")
    bs.add_argument("--json", action="store_true", help="print JSON")

    au = sub.add_parser("audit", help="query the audit trail (newest first)")
    au.add_argument("--sink", help="jsonl:///path or sqlite:///path (default: $GENOPS_AUDIT_SINK)")
    au.add_argument("--policy-file", dest="policy_file", help="read the sink from a policy file")
    au.add_argument("--result", choices=["ALLOWED", "WARNING", "RATE_LIMITED", "BLOCKED"])
    au.add_argument("--policy", help="only this policy's decisions")
    au.add_argument("--team")
    au.add_argument("--since", help="only newer records: a duration such as 30m, 24h, 7d")
    au.add_argument("--limit", type=int, default=50)
    au.add_argument("--json", action="store_true", help="print JSON lines")

    va = sub.add_parser("validate", help="validate a policy file")
    va.add_argument("file")
    return parser


def _policy_file(flag: str | None) -> str | None:
    return flag or os.environ.get(A.ENV_POLICY_FILE) or None


def _budget_status(args: argparse.Namespace, out: TextIO) -> int:
    from genops.policy.budget import LedgerPolicy
    from genops.policy.loader import build_engine

    path = _policy_file(args.policy)
    if not path:
        raise ValueError("no policy file: pass --policy or set GENOPS_POLICY_FILE")
    ledger = args.ledger or os.environ.get(A.ENV_LEDGER_URL) or "memory"
    engine = build_engine(path, ledger=ledger)
    try:
        if not args.name:
            for p in engine.policies:
                if isinstance(p, LedgerPolicy):
                    per = " ".join(f"{f}=..." for f in p.per)
                    out.write(f"{p.name}\t{p.kind}\t{p.window.name}\t{per}\n")
            return 0
        values: dict[str, str] = {}
        for item in args.per:
            field, sep, value = item.partition("=")
            if not sep or not field or not value:
                raise ValueError(f"per values are field=value, got {item!r}")
            values[field] = value
        try:
            status = engine.budget_status(args.name, **values)
        except KeyError as exc:
            raise ValueError(str(exc.args[0])) from None
        if args.json:
            out.write(json.dumps(asdict(status)) + "\n")
        else:
            s = status
            out.write(
                f"{s.policy} [{s.key}] period {s.period}\n"
                f"  limit     {s.limit:.6g} {s.unit}\n"
                f"  consumed  {s.consumed:.6g} {s.unit}\n"
                f"  reserved  {s.reserved:.6g} {s.unit}\n"
                f"  remaining {s.remaining:.6g} {s.unit}\n"
            )
        return 0
    finally:
        engine.ledger.close()


def _audit(args: argparse.Namespace, out: TextIO) -> int:
    from genops.audit import open_sink
    from genops.policy.loader import load
    from genops.policy.windows import parse_duration

    sink_url = args.sink or os.environ.get(A.ENV_AUDIT_SINK)
    if not sink_url:
        path = _policy_file(args.policy_file)
        if path:
            sink_url = load(path).audit_sink
    if not sink_url:
        raise ValueError("no audit sink: pass --sink, set GENOPS_AUDIT_SINK or an audit: section")
    since = time.time() - parse_duration(args.since) if args.since else None
    sink = open_sink(sink_url)
    try:
        records = sink.query(
            since=since, result=args.result, policy=args.policy, team=args.team, limit=args.limit
        )
    finally:
        sink.close()
    for rec in records:
        if args.json:
            out.write(json.dumps(rec) + "\n")
        else:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(rec.get("ts") or 0)))
            code = rec.get("reason_code") or "-"
            out.write(
                f"{when}  {rec.get('result', '?'):<12} {code:<26} {rec.get('policy') or '-':<22} "
                f"team={rec.get('team') or '-'} project={rec.get('project') or '-'} "
                f"model={rec.get('model') or '-'} trace={rec.get('trace_id') or '-'}\n"
            )
    return 0 if records else 1


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    from genops.policy.loader import load

    config = load(args.file)
    out.write(f"{args.file}: OK, {len(config.policies)} policies\n")
    for p in config.policies:
        out.write(f"  {p.name}\t{type(p).__name__}\t{p.enforcement.value}\n")
    return 0


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of the ``genops`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    stream = out or sys.stdout
    handlers: dict[str, Any] = {
        "budget-status": _budget_status,
        "audit": _audit,
        "validate": _validate,
    }
    try:
        code: int = handlers[args.command](args, stream)
    except LedgerUnavailable as exc:
        sys.stderr.write(f"genops: ledger unavailable: {exc}\n")
        return 1
    except ValueError as exc:  # PolicyConfigError included
        sys.stderr.write(f"genops: {exc}\n")
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
