"""The local spend store: "what did team X spend last week?" on 100k stored units.

Fills a fresh store with 100,000 units (30 days, 20 teams × 5 projects, 8 models,
a few customers, 3 % blocked) through the store's own batched writer, then times, in
the same run:

- baseline: one raw SQL ``SUM(cost)`` over the same rows (sqlite3, no genops);
- ``genops report --since 7d --team X`` in-process (query + table render);
- the same with ``--by team,model`` (all teams) and ``--format focus``;
- the CLI end to end in a fresh interpreter (what a user waits for).

    uv run python benchmarks/bench_store.py
"""

from __future__ import annotations

import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genops.cli import main
from genops.store import LocalStore

UNITS = 100_000
TEAMS = [f"team-{i:02d}" for i in range(20)]
MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-haiku-latest", "claude-sonnet-4-5",
          "text-embedding-3-small", "gemini-2.0-flash", "o3-mini", "mistral-large"]  # fmt: skip


def fill(path: Path) -> float:
    rnd = random.Random(7)
    now = time.time()
    store = LocalStore(path)
    start = time.perf_counter()
    batch = []
    for i in range(UNITS):
        ts = now - rnd.random() * 30 * 86_400
        blocked = rnd.random() < 0.03
        model = rnd.choice(MODELS)
        batch.append((
            ts, ts - 0.4, f"{i:032x}", f"{i:016x}", "bench", "production", rnd.choice(TEAMS),
            f"project-{rnd.randrange(5)}", f"customer-{rnd.randrange(50)}", "chat", None, "chat",
            "call", "openai", model, 0 if blocked else rnd.randrange(50, 4000),
            0 if blocked else rnd.randrange(10, 800), 0, 0, 0,
            0.0 if blocked else rnd.random() / 100, "USD", 0, 0,
            "BLOCKED" if blocked else "ALLOWED", "POLICY_DENY_MODEL" if blocked else None,
            "approved" if blocked else None, None,
        ))  # fmt: skip
        if len(batch) == 512:  # the BatchSpanProcessor's default export batch
            store.write(batch)
            batch = []
    store.write(batch)
    store.close()
    return time.perf_counter() - start


def timed(fn, repeat: int = 7) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main_bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spend.db"
        write_s = fill(path)
        rate = UNITS / write_s
        print(f"write: {UNITS:,} units in {write_s:.2f} s ({rate:,.0f} units/s, batches of 512)")
        since = time.time() - 7 * 86_400
        db = LocalStore(path, readonly=True)

        def baseline() -> None:
            db.execute("SELECT SUM(cost) FROM units WHERE team = ? AND ts >= ?", ("team-07", since))

        def cli(*args: str) -> None:
            assert main(["report", "--store", str(path), *args], out=io.StringIO()) == 0

        week_x = ("--since", "7d", "--team", "team-07")
        rows = [
            ("raw SQL SUM(cost), team-07, 7 days (baseline)", timed(baseline)),
            ("report --since 7d --team team-07", timed(lambda: cli(*week_x))),
            (
                "report --since 7d --team team-07 --by model",
                timed(lambda: cli(*week_x, "--by", "model")),
            ),
            (
                "report --since 7d --by team,model (all teams)",
                timed(lambda: cli("--since", "7d", "--by", "team,model")),
            ),
            (
                "report --since 30d --format focus (all)",
                timed(lambda: cli("--since", "30d", "--format", "focus"), 3),
            ),
            (
                "report --since 30d --format html (all)",
                timed(lambda: cli("--since", "30d", "--format", "html"), 3),
            ),
        ]
        db.close()
        env = {**os.environ, "COLUMNS": "160"}
        genops_cli = Path(sys.executable).with_name("genops")

        def process() -> None:
            command = [str(genops_cli), "report", "--store", str(path), *week_x]
            subprocess.run(command, check=True, capture_output=True, env=env)

        def bare() -> None:
            subprocess.run([sys.executable, "-c", "import genops"], check=True, env=env)

        rows.append(("`python -c 'import genops'` (new process, baseline)", timed(bare, 3)))
        rows.append(("`genops report --since 7d --team team-07` (new process)", timed(process, 3)))
        print(f"\n| query on {UNITS:,} units | median |\n|---|---:|")
        for name, seconds in rows:
            print(f"| {name} | {seconds * 1000:.1f} ms |")


if __name__ == "__main__":
    main_bench()
