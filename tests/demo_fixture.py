"""The ``demo_run`` fixture: the full demo on the in-memory pipeline and a fresh store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from genops import _safety
from genops.demo.runner import DemoResult, run
from tests.conftest import Telemetry


@pytest.fixture
def demo_run(telemetry: Telemetry, tmp_path: Path) -> Iterator[tuple[DemoResult, Telemetry, str]]:
    """Every installed scenario, recorded in memory (spans) and in ``tmp_path/spend.db``."""
    console = Console(file=io.StringIO(), width=160, color_system=None)
    result = run(
        store=tmp_path / "spend.db",
        console=console,
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
    )
    yield result, telemetry, console.file.getvalue()  # type: ignore[attr-defined]
    _safety.reset()
