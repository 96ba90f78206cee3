"""Setup shared by the benchmarks: genops on SDK providers that discard finished spans."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

import genops


class Drop(SpanProcessor):
    """Receives finished spans and discards them (exporter cost excluded everywhere)."""


def init_genops(policy: Any = None) -> tuple[TracerProvider, MeterProvider]:
    """``genops.init`` with integrations off, on providers shared with the baselines."""
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
