"""What every command shares: the output stream, exit codes, user-facing failures."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final, TextIO

import click
from rich.console import Console

from genops import attributes as A

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1  # nothing found, or a store / ledger / sink unavailable
EXIT_USAGE: Final = 2  # usage or configuration error


class Failure(Exception):
    """A user-facing error: printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Out:
    """Where a command writes (stdout, or the caller's stream in tests)."""

    stream: TextIO

    def write(self, text: str) -> None:
        self.stream.write(text)

    def console(self) -> Console:
        return Console(file=self.stream, width=max(100, _width()), soft_wrap=False)


def _width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


def out() -> Out:
    obj = click.get_current_context().find_object(Out)
    if obj is None:  # invoked through click directly
        import sys

        return Out(sys.stdout)
    return obj


def policy_file(flag: str | None) -> str | None:
    """``--policy``, else ``$GENOPS_POLICY_FILE``."""
    return flag or os.environ.get(A.ENV_POLICY_FILE) or None


def done(found: bool) -> None:
    """Exit 1 when a query found nothing."""
    if not found:
        raise click.exceptions.Exit(EXIT_ERROR)
