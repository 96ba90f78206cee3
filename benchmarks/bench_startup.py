"""Start-up cost: ``import genops`` and ``genops.init(instrument=True)`` against importing
the OpenTelemetry SDK, in fresh interpreters, interleaved round by round.

Each child measures from its first line to the end of the measured statement
(``time.perf_counter``), so interpreter start-up is excluded alike for all:

- ``otel sdk``: ``import opentelemetry.sdk.trace, opentelemetry.sdk.metrics`` (the floor
  every OTel-instrumented app pays);
- ``import genops``;
- ``genops.init(instrument=True)``: import + init with every installed integration
  enabled, in an app that imports nothing else (no SDK or framework gets imported: each
  is instrumented when the app imports it);
- ``first priced call``: init, then at once one governed priced unit; the price data
  loads on a background thread started by init, so this shows how long the first call
  waits for it;
- ``first priced call, 1 s later``: the same unit after the app's own start-up work
  (here a 1 s sleep, not counted) — the load has finished by then.

    uv run python benchmarks/bench_startup.py [rounds]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

_PRELUDE = "import time\n_t0 = time.perf_counter()\n"
_INIT = (
    "import genops\n"
    "genops.init(service_name='bench', team='t', project='p', local_store=False, "
    "instrument=True)\n"
)
_UNIT = (
    "with genops.governed('q', provider='openai', model='gpt-4o-mini') as u:\n"
    "    u.record_usage(input_tokens=10, output_tokens=5)\n"
)
VARIANTS: dict[str, str] = {
    "otel sdk import": "import opentelemetry.sdk.trace, opentelemetry.sdk.metrics\n",
    "import genops": "import genops\n",
    "genops.init(instrument=True)": _INIT
    + "import sys\nassert not {'openai', 'langchain_core', 'anthropic'} & set(sys.modules)\n",
    "init + first priced call": _INIT + _UNIT,
    "first priced call, 1 s after init": _INIT
    + "time.sleep(1)\n_t0 = time.perf_counter()\n"
    + _UNIT,
}
_EPILOGUE = "print(time.perf_counter() - _t0)\n"


def _one(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PRELUDE + code + _EPILOGUE],
        capture_output=True,
        text=True,
        check=True,
        env={"GENOPS_LOCAL_STORE": "0", "PATH": "/usr/bin:/bin"},
    )
    return float(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 7) -> dict[str, float]:
    """Median seconds per variant over ``rounds`` interleaved fresh processes."""
    for code in VARIANTS.values():  # warm the bytecode caches
        _one(code)
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(rounds):
        for name, code in VARIANTS.items():
            samples[name].append(_one(code))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    medians = run(rounds)
    floor = medians["otel sdk import"]
    print(f"start-up, median of {rounds} interleaved fresh processes")
    print(f"{'what':38} {'ms':>9} {'vs OTel SDK import':>20}")
    for name, value in medians.items():
        print(f"{name:38} {value * 1000:9.1f} {value / floor:19.2f}×")
    print(json.dumps({"startup": {k: round(v * 1000, 2) for k, v in medians.items()}}))


if __name__ == "__main__":
    main()
