"""The ``genops`` command line (click + rich).

    genops demo                                   # offline multi-team demo, then its report
    genops report --since 7d --by team,model      # spend from the local store
    genops report --team search --format html -o spend.html
    genops budgets --policy genops-policy.yaml    # every budget instance the ledger holds
    genops prices gpt-4o-mini                     # what genops would charge, and why
    genops policy check genops-policy.yaml        # validate and explain a policy file
    genops audit --result BLOCKED --since 24h     # who was blocked, when, by which rule

Exit codes (every command): **0** ok; **1** nothing found, or a store / ledger / sink
that is unavailable; **2** usage or configuration error. A user error prints one line
``genops: <what is wrong>`` on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

import click

from genops.cli._common import EXIT_ERROR, EXIT_USAGE, Failure, Out
from genops.ledger import LedgerUnavailable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="genops-core", prog_name="genops")
def cli() -> None:
    """genops: spend, budgets, prices, policies and the audit trail, from the shell."""


def _register() -> None:
    from genops.cli import admin, audit, demo, report

    for command in (
        demo.demo,
        report.report,
        admin.budgets,
        admin.budget_status,
        admin.prices,
        admin.policy,
        admin.validate,
        audit.audit,
    ):
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point of the ``genops`` console script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args, prog_name="genops", standalone_mode=False, obj=Out(out or sys.stdout))
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.UsageError as exc:
        sys.stderr.write(f"genops: {exc.format_message()}\n")
        hint = exc.ctx.command_path if exc.ctx else "genops"
        sys.stderr.write(f"(see: {hint} --help)\n")
        return EXIT_USAGE
    except click.Abort:
        sys.stderr.write("genops: aborted\n")
        return EXIT_ERROR
    except Failure as exc:
        sys.stderr.write(f"genops: {exc}\n")
        return exc.code
    except LedgerUnavailable as exc:
        sys.stderr.write(f"genops: ledger unavailable: {exc}\n")
        return EXIT_ERROR
    except (ValueError, OSError) as exc:  # PolicyConfigError included
        sys.stderr.write(f"genops: {exc}\n")
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
