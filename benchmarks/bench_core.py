"""One governed unit (no policy, memory ledger) vs a bare OpenTelemetry span, same run;
then the same unit under each rule of the peers' 3-rule policy, alone and together
(what each kind of governance adds to a unit).

Both use the same SDK TracerProvider with a span processor that drops finished spans
(so exporter cost is excluded from both) and the same MeterProvider.

    uv run python benchmarks/bench_core.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import init_genops
from _peer_worker import POLICY

import genops

ROUNDS = 7
N = 5_000


def measure(fn: Callable[[], None]) -> float:
    """Median µs per call over ROUNDS rounds of N calls."""
    for _ in range(500):
        fn()
    samples = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(N):
            fn()
        samples.append((time.perf_counter() - t0) / N * 1e6)
    return statistics.median(samples)


def by_rule(unit: Callable[[], None]) -> list[tuple[str, float]]:
    """Median µs of CPU time of the unit under each rule set; the sets are interleaved
    round by round (a fresh runtime each time), so host noise hits them alike."""
    models, budget, cap = POLICY["policies"]
    sets: dict[str, list[Any]] = {
        "no policy": [],
        "allowed models": [models],
        "per-call cap": [cap],
        "allowed models + cap": [models, cap],
        "monthly team budget": [budget],
        "all three": [models, budget, cap],
    }
    samples: dict[str, list[float]] = {name: [] for name in sets}
    for _ in range(ROUNDS):
        for name, rules in sets.items():
            init_genops({"version": 1, "policies": rules} if rules else None)
            for _ in range(300):
                unit()
            t0 = time.thread_time_ns()
            for _ in range(N // 2):
                unit()
            samples[name].append((time.thread_time_ns() - t0) / (N // 2) / 1000)
            genops.shutdown()
    return [(name, statistics.median(values)) for name, values in samples.items()]


def main() -> None:
    tp, mp = init_genops()
    tracer = tp.get_tracer("bench")
    estimate = genops.RequestEstimate(input_tokens=500, max_output_tokens=200)

    def bare_span() -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.usage.input_tokens", 480)
            span.set_attribute("gen_ai.usage.output_tokens", 120)

    def governed_unit() -> None:
        with genops.governed(
            "bench", provider="openai", model="gpt-4o-mini", request=estimate
        ) as unit:
            unit.record_usage(input_tokens=480, output_tokens=120)

    meter = mp.get_meter("bench")
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    labels = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
    }

    def span_and_semconv_metrics() -> None:
        t0 = time.perf_counter()
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.usage.input_tokens", 480)
            span.set_attribute("gen_ai.usage.output_tokens", 120)
        tokens.record(480, {**labels, "gen_ai.token.type": "input"})
        tokens.record(120, {**labels, "gen_ai.token.type": "output"})
        duration.record(time.perf_counter() - t0, labels)

    bare = measure(bare_span)
    semconv = measure(span_and_semconv_metrics)
    gov = measure(governed_unit)
    genops.shutdown()
    per_rule = by_rule(governed_unit)
    print(f"bare OTel span                      : {bare:7.1f} µs/op")
    print(f"OTel span + GenAI semconv metrics   : {semconv:7.1f} µs/op")
    print(f"genops governed unit (no policy)    : {gov:7.1f} µs/op")
    print(f"ratio governed / bare span          : {gov / bare:7.1f}x  (+{gov - bare:.1f} µs)")
    print(f"ratio governed / span+metrics       : {gov / semconv:7.1f}x  (+{gov - semconv:.1f} µs)")
    print("the unit per rule set (thread CPU, interleaved rounds):")
    base = per_rule[0][1]
    for label, us in per_rule:
        print(f"  {label:<34}: {us:7.1f} µs/op  ({us - base:+.1f} µs over no policy)")


if __name__ == "__main__":
    main()
