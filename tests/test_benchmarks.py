"""The benchmark harness keeps working: every genops variant of ``bench_peers.py`` runs
in a fresh worker and reports samples, and the target arithmetic judges the right
numbers (no timing is asserted: the benchmarks measure, the tests only run them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_peers  # noqa: E402


@pytest.mark.parametrize(
    ("scenario", "variant", "calls"),
    [
        ("langchain", "genops", ["langchain invoke"]),
        ("langchain", "genops essential", ["langchain invoke"]),
        ("openai", "genops", ["openai create", "openai stream"]),
    ],
)
def test_a_worker_reports_samples_for_every_call(
    scenario: str, variant: str, calls: list[str]
) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "_peer_worker.py"), scenario, variant, "3"],
        capture_output=True,
        text=True,
        cwd=BENCH,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(data) == {"wall", "cpu", "proc"}
    for clock in data.values():
        assert sorted(clock) == sorted(calls)
        assert all(len(samples) == 3 and min(samples) > 0 for samples in clock.values())


def _stats(**overheads: float) -> dict[str, dict[str, float]]:
    base = 300.0
    return {"uninstrumented": {"median": base}} | {
        name.replace("_", " "): {"median": base + over} for name, over in overheads.items()
    }


def test_targets_compare_overheads_not_totals() -> None:
    lc: dict[str, Any] = _stats(
        **{"no-op handler": 40, "raw 4 OTel spans": 120},
        genops=400,
        genops_essential=300,
        openllmetry=800,
        **{"otel-genai": 600},
    )
    found = {
        name: (ratio, limit) for name, ratio, limit in bench_peers.targets({"langchain invoke": lc})
    }
    assert found["LangChain: genops ≤ 1.25× the floor"] == (2.5, 1.25)
    assert found["LangChain: genops ≤ 0.4× OpenLLMetry"] == (0.5, 0.4)
    ratio, limit = found["LangChain: genops ≤ 0.8× the official OTel GenAI instrumentation"]
    assert (round(ratio, 3), limit) == (0.667, 0.8)
    assert found['LangChain: genops spans="essential" ≤ 0.8× official OTel GenAI'] == (0.5, 0.8)


def test_the_native_target_uses_the_cheapest_peer() -> None:
    create = _stats(genops=300, openinference=200, openllmetry=500, **{"otel-genai": 150})
    [(name, ratio, limit)] = bench_peers.targets({"openai create": create})
    assert name == "openai create: genops ≤ 0.5× the best peer (otel-genai)"
    assert (ratio, limit) == (2.0, 0.5)


def test_a_variant_runs_here_in_the_side_environment_or_not_at_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert bench_peers.interpreter(None) == sys.executable
    assert bench_peers.interpreter("genops_langchain") == sys.executable
    monkeypatch.setattr(bench_peers, "SIDE_PYTHON", None)
    assert bench_peers.interpreter("no_such_peer_module") is None
    monkeypatch.setattr(bench_peers, "SIDE_PYTHON", sys.executable)  # as a side env
    assert bench_peers.interpreter("json") == sys.executable
    assert bench_peers.interpreter("no_such_peer_module") is None


def test_the_overhead_profile_counts_spans_events_and_cycles() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / "profile_overhead.py"), "langchain", "genops"],
        capture_output=True,
        text=True,
        cwd=BENCH,
        timeout=180,
        check=False,
        env={**os.environ, "GENOPS_PROFILE_CALLS": "50"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = out.stdout
    assert "| OTel SDK: spans, attributes, events, context | +" in report
    assert "span starts per call: 4 (uninstrumented 0)" in report  # workflow, prompt, chat, parser
    assert "span events per call: 3 (uninstrumented 0)" in report  # the spec's required three
    assert "cyclic garbage per call: 0 objects (uninstrumented 0)" in report
