"""Resident memory over many governed units: flat once the exporter's queue is full.

One process runs ``UNITS`` governed units (the 3-rule policy of ``bench_peers.py``,
memory ledger, metrics on, a ``BatchSpanProcessor`` — bounded queue of 2,048 spans —
whose exporter drops the batches), with 40 customers and two model names so label sets
and price look-ups repeat as in a real service. RSS (``/proc/self/statm``) is sampled
every 5 % of the run; the slope between the 25 % mark and the end is the growth per
unit that would remain over a longer run, and the 1M-unit figure is that slope
extrapolated (printed as such, not measured, unless ``UNITS`` is 1,000,000).

    python benchmarks/bench_rss.py [units]
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

from _peer_worker import POLICY, DropExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import genops

MODELS = ("gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main() -> None:
    units = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(DropExporter()))
    reader = InMemoryMetricReader()
    genops.init(
        service_name="bench-rss",
        team="t",
        project="p",
        policy=POLICY,
        tracer_provider=tp,
        meter_provider=MeterProvider(metric_readers=[reader]),
        instrument=False,
        local_store=False,
    )
    step = max(units // 20, 1)
    samples: list[tuple[int, float]] = [(0, rss_mib())]
    t0 = time.perf_counter()
    for i in range(1, units + 1):
        with (
            genops.attribution(customer_id=f"customer-{i % 40}"),
            genops.governed("reply", provider="openai", model=MODELS[i % len(MODELS)]) as unit,
        ):
            unit.record_usage(input_tokens=400 + i % 100, output_tokens=80)
        if i % step == 0:
            reader.collect()  # as a periodic exporting reader would
            samples.append((i, rss_mib()))
    elapsed = time.perf_counter() - t0
    gc.collect()
    genops.shutdown()
    quarter = next(s for s in samples if s[0] >= units // 4)
    end = samples[-1]
    per_unit = (end[1] - quarter[1]) * 2**20 / max(end[0] - quarter[0], 1)
    print(f"{units:,} governed units in {elapsed:.1f} s ({elapsed / units * 1e6:.0f} µs/unit)")
    print("units      RSS MiB")
    for n, mib in [*samples[:: max(len(samples) // 10, 1)], samples[-1]]:
        print(f"{n:>9,}  {mib:8.1f}")
    extrapolated = end[1] + per_unit * (1_000_000 - end[0]) / 2**20
    print(
        f"growth after the first 25 %: {per_unit:+.2f} bytes/unit; "
        f"1M units extrapolated: {extrapolated:.1f} MiB (from {end[1]:.1f} MiB at {end[0]:,})"
    )
    print(
        json.dumps(
            {
                "rss": {
                    "units": units,
                    "samples": samples,
                    "bytes_per_unit_after_25pct": per_unit,
                    "extrapolated_1m_mib": extrapolated,
                }
            }
        )
    )


if __name__ == "__main__":
    main()
