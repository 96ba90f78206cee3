"""A local store filled by the demo, and a way to run the CLI in-process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from genops.cli import main
from tests.demo_fixture import demo_run

__all__ = ["demo_run"]


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


@pytest.fixture
def store(demo_run) -> Path:
    result, _, _ = demo_run
    return result.store
