"""Setup shared by the benchmarks: genops on SDK providers that discard finished spans,
and fresh-process runs (genops is imported on use: the side environment of
``nox -s bench`` runs peers without it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider


class Drop(SpanProcessor):
    """Receives finished spans and discards them (exporter cost excluded everywhere)."""


def init_genops(policy: Any = None) -> tuple[TracerProvider, MeterProvider]:
    """``genops.init`` with integrations off, on providers shared with the baselines."""
    import genops

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(Drop())
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    genops.init(
        service_name="bench",
        team="t",
        project="p",
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        instrument=False,
        policy=policy,
    )
    return tracer_provider, meter_provider


def run_json(python: str, script: Path, *args: str) -> dict[str, Any]:
    """Run ``script`` in a fresh ``python`` (cwd: benchmarks/) and return the JSON object
    on its last stdout line; a failure stops the benchmark with the script's stderr."""
    out = subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{script.name} {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
