"""``genops demo``: the offline multi-team workload, then its report."""

from __future__ import annotations

from pathlib import Path

import click

from genops.cli._common import out


@click.command()
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    help="local store file to write (default: $GENOPS_LOCAL_STORE, "
    "else ~/.local/share/genops/spend.db)",
)
@click.option("--list", "only_list", is_flag=True, help="list the installed scenarios and exit")
def demo(store: Path | None, only_list: bool) -> None:
    """Run an offline, multi-team workload through every installed integration against a
    loopback fake provider: a policy that allows, warns, redacts and blocks, a budget
    that runs out; then spend by team × model, blocked calls by reason, the budget and
    where the data went. No API key, no network.

    \b
    genops demo && genops report --since 1h --by team,model
    """
    from genops.demo import discover
    from genops.demo.runner import run

    console = out().console()
    if only_list:
        for s in discover():
            console.print(f"{s.integration:<12} {s.team:<10} {s.name}: {s.description}")
        return
    run(store=store, console=console)
