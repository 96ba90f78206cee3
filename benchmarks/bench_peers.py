"""genops beside its peers, in the same run: interleaved fresh processes, medians, p99, ratios.

Every (scenario, variant) runs in its own fresh interpreter (``_peer_worker.py``), round
after round, the variant order rotated each round so machine noise (other jobs on
shared cores) hits every variant alike. Per variant: the median of the per-process
medians, the p99 of all calls, and the overhead over the uninstrumented call. Peers
are installed only in the ``bench`` nox session (``uv run nox -s bench``), never in
the workspace lock; a peer that is not installed is reported as such, not guessed.

    uv run nox -s bench -- peers            # this benchmark only
    python benchmarks/bench_peers.py [rounds] [calls per process] [variant,variant,...]

Two clocks per call: the calling thread's CPU time (primary: on a shared machine it does
not count the time the process waits for a core) and wall time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import run_json

HERE = Path(__file__).resolve().parent

#: variant → module that must be importable for it (None: always available)
LANGCHAIN = {
    "uninstrumented": None,
    "no-op handler": None,
    "raw 4 OTel spans": None,
    "genops": "genops_langchain",
    "genops essential": "genops_langchain",
    "openinference": "openinference.instrumentation.langchain",
    "openllmetry": "opentelemetry.instrumentation.langchain",
    "otel-genai": "opentelemetry.instrumentation.genai.langchain",
}
OPENAI = {
    "uninstrumented": None,
    "genops": "genops_native",
    "openinference": "openinference.instrumentation.openai",
    "openllmetry": "opentelemetry.instrumentation.openai",
    "otel-genai": "opentelemetry.instrumentation.openai_v2",
}
SCENARIOS = {"langchain": LANGCHAIN, "openai": OPENAI}
PEERS = ("openinference", "openllmetry", "otel-genai")


#: an interpreter for the peers that cannot share this environment (the official OTel
#: GenAI LangChain instrumentation needs an opentelemetry-util-genai that the official
#: openai-v2 one cannot import); ``nox -s bench`` builds it with the same OpenTelemetry
#: SDK and langchain-core versions
SIDE_PYTHON = os.environ.get("GENOPS_BENCH_SIDE_PYTHON")


def _importable_here(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _side_has(module: str) -> bool:
    if not SIDE_PYTHON or not Path(SIDE_PYTHON).exists():
        return False
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    return subprocess.run([SIDE_PYTHON, "-c", probe], check=False).returncode == 0


def interpreter(module: str | None) -> str | None:
    """The Python that runs a variant: this one if ``module`` imports here, else the side
    environment's if it has it, else ``None`` (not installed)."""
    if module is None or _importable_here(module):
        return sys.executable
    return SIDE_PYTHON if _side_has(module) else None


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    rounds: int, calls: int, only: set[str] | None = None
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """{clock: {call: {variant: {median, p99, processes}}}} over ``rounds`` interleaved
    fresh processes; ``clock`` is ``cpu`` (the calling thread's CPU time), ``proc`` (the
    process's CPU time, every thread: per process the mean, not the median) or ``wall``."""
    per_process: dict[tuple[str, str, str], list[float]] = {}
    pooled: dict[tuple[str, str, str], list[float]] = {}
    plan = [
        (scenario, variant, python)
        for scenario, variants in SCENARIOS.items()
        for variant, module in variants.items()
        if (python := interpreter(module)) is not None
        and (only is None or variant in only or variant == "uninstrumented")
    ]
    for r in range(rounds):
        shift = r % len(plan)
        for scenario, variant, python in plan[shift:] + plan[:shift]:
            print(f"round {r + 1}/{rounds}: {scenario} / {variant}", file=sys.stderr, flush=True)
            data = run_json(python, HERE / "_peer_worker.py", scenario, variant, str(calls))
            for clock, calls_samples in data.items():
                for call, samples in calls_samples.items():
                    key = (clock, call, variant)
                    # process CPU: the mean (deferred work comes in bursts a median hides)
                    centre = statistics.fmean if clock == "proc" else statistics.median
                    per_process.setdefault(key, []).append(centre(samples))
                    pooled.setdefault(key, []).extend(samples)
    result: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (clock, call, variant), medians in per_process.items():
        result.setdefault(clock, {}).setdefault(call, {})[variant] = {
            "median": statistics.median(medians),
            "p99": _p(pooled[(clock, call, variant)], 0.99),
            "processes": len(medians),
        }
    return result


def targets(result: dict[str, dict[str, dict[str, float]]]) -> list[tuple[str, float, float]]:
    """(target, measured ratio, limit) for every target of issue 18 that this run covers."""
    out: list[tuple[str, float, float]] = []
    lc = result.get("langchain invoke", {})
    if {"uninstrumented", "no-op handler", "raw 4 OTel spans", "genops"} <= set(lc):
        base = lc["uninstrumented"]["median"]
        over = {v: s["median"] - base for v, s in lc.items()}
        floor = over["no-op handler"] + over["raw 4 OTel spans"]
        out.append(("LangChain: genops ≤ 1.25× the floor", over["genops"] / floor, 1.25))
        if "openllmetry" in over:
            out.append(
                ("LangChain: genops ≤ 0.4× OpenLLMetry", over["genops"] / over["openllmetry"], 0.4)
            )
        if "otel-genai" in over:
            out.append(
                (
                    "LangChain: genops ≤ 0.8× the official OTel GenAI instrumentation",
                    over["genops"] / over["otel-genai"],
                    0.8,
                )
            )
            if "genops essential" in over:  # like for like: workflow + model spans only
                out.append(
                    (
                        'LangChain: genops spans="essential" ≤ 0.8× official OTel GenAI',
                        over["genops essential"] / over["otel-genai"],
                        0.8,
                    )
                )
        if "openinference" in over:
            out.append(
                (
                    "LangChain: genops ≤ OpenInference (no target; shown)",
                    over["genops"] / over["openinference"],
                    float("inf"),
                )
            )
    for call in ("openai create", "openai stream"):
        stats = result.get(call, {})
        if "genops" not in stats:
            continue
        base = stats["uninstrumented"]["median"]
        peers = {v: stats[v]["median"] - base for v in PEERS if v in stats}
        if peers:
            best = min(peers, key=lambda v: peers[v])
            ratio = (stats["genops"]["median"] - base) / peers[best]
            out.append((f"{call}: genops ≤ 0.5× the best peer ({best})", ratio, 0.5))
    return out


def _table(result: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    lines = [
        "| call | variant | median | p99 | overhead | overhead / genops |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for call, stats in result.items():
        base = stats["uninstrumented"]["median"]
        gov = stats.get("genops", {}).get("median", float("nan")) - base
        for variant, s in stats.items():
            over = s["median"] - base
            rel = f"{over / gov:.2f}×" if variant != "uninstrumented" and gov > 0 else "—"
            lines.append(
                f"| {call} | {variant} | {s['median']:.0f} | {s['p99']:.0f} | "
                f"{'—' if variant == 'uninstrumented' else f'+{over:.0f}'} | {rel} |"
            )
    return lines


def report(
    result: dict[str, dict[str, dict[str, dict[str, float]]]], rounds: int, calls: int
) -> str:
    lines = [f"{rounds} rounds × 1 fresh process per variant × {calls} calls; µs per call", ""]
    clocks = (
        ("cpu", "thread CPU time (the calling thread: the app's latency)"),
        ("proc", "process CPU time (every thread, deferred work included; per-process means)"),
        ("wall", "wall time"),
    )
    for clock, title in clocks:
        if clock in result:
            lines += [f"**{title}**", "", *_table(result[clock]), ""]
    lines += ["| target | clock | measured | limit | |", "|---|---|---:|---:|---|"]
    for clock in ("cpu", "proc", "wall"):
        for name, ratio, limit in targets(result.get(clock, {})):
            mark = "—" if limit == float("inf") else ("met" if ratio <= limit else "missed")
            shown = "—" if limit == float("inf") else f"{limit:g}×"
            lines.append(f"| {name} | {clock} | {ratio:.2f}× | {shown} | {mark} |")
    missing = [
        f"{v} ({s})" for s, vs in SCENARIOS.items() for v, m in vs.items() if interpreter(m) is None
    ]
    if missing:
        lines.append(f"\nnot installed here (run `nox -s bench`): {', '.join(missing)}")
    return "\n".join(lines)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    calls = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else None
    result = run(rounds, calls, only)
    print(report(result, rounds, calls))
    print(json.dumps({"peers": result}))


if __name__ == "__main__":
    main()
