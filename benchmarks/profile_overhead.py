"""Where one variant's per-call overhead goes: the profile summary, the deterministic
counts and the cyclic garbage of ``benchmarks/README.md`` (not a timing benchmark).

    python benchmarks/profile_overhead.py langchain genops        # vs uninstrumented
    python benchmarks/profile_overhead.py openai otel-genai

Runs the variant and the uninstrumented baseline of ``_peer_worker.py`` in fresh
processes (cProfile, collector off while profiling) and prints, per call:

- self time by component, builtins and standard-library calls charged to the component
  that made them, as the variant minus the baseline (cProfile inflates small functions:
  read the shares, not the µs);
- call counts: OTel attribute validations, span starts, span events, synchronous metric
  records;
- objects left for the cyclic garbage collector per call.

A peer that is not installed here fails with ``ModuleNotFoundError``; the official OTel
GenAI LangChain instrumentation lives in ``nox -s bench``'s side environment: run this
script with that interpreter (``.nox/bench-genai-langchain/bin/python``).
"""

from __future__ import annotations

import collections
import cProfile
import gc
import json
import os
import pstats
import sys
from pathlib import Path
from typing import Any

from _common import run_json

HERE = Path(__file__).resolve().parent
#: profiled calls per process (``GENOPS_PROFILE_CALLS`` overrides: the test runs few)
CALLS = int(os.environ.get("GENOPS_PROFILE_CALLS", "2000"))

#: component → path fragments (the first match wins; the adapter is checked first, so
#: ``genops/adapter/`` is not counted as generic genops)
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("adapter: kit RunTree + framework handler / SDK wrapper",
     ("genops/adapter/", "genops_langchain/", "genops_native/")),
    ("genops policy engine + ledger", ("genops/policy/", "genops/ledger/")),
    ("genops records: events, attributes, metric queue",
     ("genops/_record", "genops/_unit_metrics", "genops/_metric_batch", "genops/_labels",
      "genops/rollup")),
    ("genops unit lifecycle, pricing, usage, attribution, other", ("genops/",)),
    ("OTel SDK: spans, attributes, events, context",
     ("opentelemetry/sdk/trace", "opentelemetry/attributes", "opentelemetry/trace",
      "opentelemetry/context", "opentelemetry/sdk/util", "opentelemetry/util")),
    ("OTel SDK: metrics", ("opentelemetry/sdk/metrics", "opentelemetry/metrics")),
    ("peer instrumentation", ("openinference/", "opentelemetry/instrumentation/")),
    ("LangChain / LangSmith", ("langchain_core/", "langsmith/")),
    ("openai / httpx / pydantic", ("openai/", "httpx/", "pydantic", "httpcore", "anyio", "h11")),
]  # fmt: skip
OTHER = "python / builtins (no caller found)"

Key = tuple[str, int, str]


def _component(file: str) -> str | None:
    for label, fragments in COMPONENTS:
        if any(fragment in file for fragment in fragments):
            return label
    return None


def _shares(stats: dict[Key, Any], key: Key, depth: int = 0) -> dict[str, float]:
    """Which components a builtin / stdlib function's time belongs to: its callers'."""
    own = _component(key[0])
    if own is not None or depth > 6:
        return {own or OTHER: 1.0}
    callers = stats.get(key, (0, 0, 0, 0, {}))[4]
    total = sum(v[2] for v in callers.values())
    if not total:
        return {OTHER: 1.0}
    out: dict[str, float] = collections.defaultdict(float)
    for caller, timing in callers.items():
        for label, share in _shares(stats, caller, depth + 1).items():
            out[label] += share * timing[2] / total
    return out


def measure(scenario: str, variant: str, call: str) -> dict[str, Any]:
    """One process's numbers for ``variant`` (run in this interpreter)."""
    sys.path.insert(0, str(HERE))
    import _peer_worker as worker

    calls = worker.langchain_calls if scenario == "langchain" else worker.openai_calls
    fn = calls(variant)[call]
    for _ in range(300):
        fn()
    gc.collect()
    gc.disable()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(CALLS):
        fn()
    profile.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    cyclic = gc.collect() / CALLS
    gc.set_debug(0)
    gc.garbage.clear()
    stats: dict[Key, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    components: dict[str, float] = collections.defaultdict(float)
    counts = {"attribute validations": 0, "span starts": 0, "span events": 0,
              "synchronous metric records": 0}  # fmt: skip
    for key, (_, ncalls, tottime, _, _) in stats.items():
        file, _, name = key
        for label, share in _shares(stats, key).items():
            components[label] += share * tottime / CALLS * 1e6
        if file.endswith("opentelemetry/attributes/__init__.py"):
            counts["attribute validations"] += ncalls * (name == "_clean_attribute_value")
        elif file.endswith("opentelemetry/sdk/trace/__init__.py"):
            counts["span starts"] += ncalls * (name == "start_span")
            counts["span events"] += ncalls * (name == "add_event")
        elif file.endswith("opentelemetry/sdk/metrics/_internal/instrument.py"):
            counts["synchronous metric records"] += ncalls * (name in ("add", "record"))
    return {
        "components": dict(components),
        "counts": {k: v / CALLS for k, v in counts.items()},
        "cyclic objects": cyclic,
    }


def _run(python: str, scenario: str, variant: str, call: str) -> dict[str, Any]:
    return run_json(python, Path(__file__), "--one", scenario, variant, call)


def main() -> None:
    if sys.argv[1] == "--one":
        print(json.dumps(measure(*sys.argv[2:5])))
        return
    scenario, variant = sys.argv[1], sys.argv[2]
    call = "langchain invoke" if scenario == "langchain" else "openai create"
    call = sys.argv[3] if len(sys.argv) > 3 else call
    base = _run(sys.executable, scenario, "uninstrumented", call)
    got = _run(sys.executable, scenario, variant, call)
    over = {
        label: got["components"].get(label, 0.0) - base["components"].get(label, 0.0)
        for label in {*got["components"], *base["components"]}
    }
    total = sum(v for v in over.values() if v > 0)
    print(f"{scenario} / {variant} / {call}: self time per call over uninstrumented")
    print("(profiled µs; shares of the positive total)\n")
    print("| component | profiled µs | share |\n|---|---:|---:|")
    for label, us in sorted(over.items(), key=lambda kv: -kv[1]):
        share = f"{us / total:.0%}" if us > 0 else "—"
        print(f"| {label} | {us:+.0f} | {share} |")
    print(f"| total | {total:.0f} | |\n")
    for name, value in got["counts"].items():
        print(f"{name} per call: {value:g} (uninstrumented {base['counts'][name]:g})")
    print(
        f"cyclic garbage per call: {got['cyclic objects']:g} objects "
        f"(uninstrumented {base['cyclic objects']:g})"
    )


if __name__ == "__main__":
    main()
