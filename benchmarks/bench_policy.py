"""Policy decisions and budget ledgers: per-decision cost and reserve+settle per backend.

    uv run python benchmarks/bench_policy.py

Measured in one process, side by side:
- ``engine.admit`` + ``engine.settle`` with no policies vs 10 policies (7 stateless
  rules, 2 budgets and a rate limit) on the memory ledger;
- the content detectors on a 2 KB prompt (all seven detectors);
- ``ledger.reserve`` + ``ledger.settle`` of one claim on memory, SQLite (WAL file in a
  temp dir), Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432, database ``test``);
  a server that is not reachable is skipped with a note.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from genops.attribution import Attribution
from genops.ledger import NANOS, Claim, Ledger, Reservation, open_ledger
from genops.policy import Engine
from genops.policy.base import Estimate, UnitRequest
from genops.policy.detectors import DETECTOR_NAMES, scan
from genops.policy.loader import build_engine

ROUNDS = 7

TEN_POLICIES = {
    "version": 1,
    "policies": [
        {"name": "models", "type": "allowed_models", "models": ["gpt-4o-mini", "claude-*"]},
        {"name": "prod-models", "type": "allowed_models", "models": ["gpt-4o*"],
         "scope": {"environment": "production"}},
        {"name": "cap", "type": "max_cost_per_call", "limit": 0.5},
        {"name": "tokens", "type": "max_tokens", "limit": 4096},
        {"name": "regions", "type": "allowed_regions", "regions": ["eu-*"]},
        {"name": "pii", "type": "content", "detect": ["email", "credit_card", "ssn"],
         "action": "warn"},
        {"name": "keys", "type": "content", "detect": ["api_key"], "action": "redact"},
        {"name": "team-daily", "type": "budget", "limit": 1e6, "window": "daily", "per": "team"},
        {"name": "model-monthly", "type": "budget", "limit": 1e6, "window": "monthly",
         "per": ["team", "model"]},
        {"name": "rate", "type": "rate_limit", "requests": 10**12, "window": "1m",
         "per": "team"},
    ],
}  # fmt: skip

PROMPT = (
    "Customer writes: my order 123456 arrived damaged, please refund to the card on file. "
    "I have been a customer since 2019 and I expect better packaging next time. "
) * 13  # ~2 KB, no sensitive data: the detectors scan everything


def measure_cpu(fn: Callable[[], None], n: int) -> float:
    """Median µs of this thread's CPU time per call (run-queue waits on a loaded host
    excluded; a server's own time for a round trip is not counted: see wall time)."""
    samples = []
    for _ in range(ROUNDS):
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        samples.append((time.thread_time() - t0) / n * 1e6)
    return statistics.median(samples)


def measure(fn: Callable[[], None], n: int) -> float:
    """Median µs per call over ROUNDS rounds of n calls."""
    for _ in range(min(n, 200)):
        fn()
    samples = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


def request(texts: tuple[str, ...] = ()) -> UnitRequest:
    return UnitRequest(
        attribution=Attribution(team="support", project="helpdesk", environment="production"),
        operation_name="reply",
        operation_type="chat",
        provider="openai",
        model="gpt-4o-mini",
        estimate=Estimate(input_tokens=500, max_output_tokens=200, cost_usd=Decimal("0.000195")),
        region="eu-west-1",
        content=texts,
    )


def decide(engine: Engine, req: UnitRequest) -> Callable[[], None]:
    cost = Decimal("0.00015")

    def run() -> None:
        admission = engine.admit(req)
        engine.settle(admission, cost_usd=cost, usage=None)

    return run


def ledger_cycle(ledger: Ledger) -> Callable[[], None]:
    key = f"bench:{uuid.uuid4().hex}"
    claim = Claim(key, 10**9 * NANOS, 195_000, "2026-11", ("2026-11",), keep_for=3600.0)

    def run() -> None:
        r = ledger.reserve([claim], ttl=600, now=time.time())
        assert isinstance(r, Reservation)
        ledger.settle(r, [150_000], now=time.time())

    return run


def redis_ledger() -> Ledger | None:
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except Exception:
        return None
    return open_ledger(f"redis://127.0.0.1:6379/0?prefix=genops-bench-{uuid.uuid4().hex[:8]}:")


def redis_round_trips(ledger: Ledger, cycles: int = 50) -> tuple[float, float]:
    """(commands per reserve, commands per settle) that reach the server, counted with
    MONITOR on a key unique to this run (other clients of the server are not counted)."""
    import threading

    import redis

    key = f"bench:{uuid.uuid4().hex}"
    claim = Claim(key, 10**9 * NANOS, 195_000, "2026-11", ("2026-11",), keep_for=3600.0)
    first = ledger.reserve([claim], ttl=600, now=time.time())  # scripts loaded, connected
    assert isinstance(first, Reservation)
    ledger.settle(first, [150_000], now=time.time())
    seen: list[str] = []
    ready = threading.Event()
    sentinel = f"genops-bench-stop-{uuid.uuid4().hex}"

    def watch() -> None:
        with redis.Redis(host="127.0.0.1", port=6379).monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                text = str(command.get("command", ""))
                if sentinel in text:
                    return
                if key in text and command.get("client_type") != "lua":  # not the script's own
                    seen.append(text.split(" ", 1)[0].upper())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    held = []
    for _ in range(cycles):
        r = ledger.reserve([claim], ttl=600, now=time.time())
        assert isinstance(r, Reservation)
        held.append(r)
    time.sleep(0.2)
    reserves = len(seen)
    for r in held:
        ledger.settle(r, [150_000], now=time.time())
    redis.Redis(host="127.0.0.1", port=6379).get(sentinel)
    thread.join(5)
    return reserves / cycles, (len(seen) - reserves) / cycles


def postgres_ledger() -> Ledger | None:
    for user in ("root", "postgres"):
        url = f"postgresql://{user}@127.0.0.1:5432/test"
        try:
            import psycopg

            psycopg.connect(url, connect_timeout=2).close()
        except Exception:
            continue
        return open_ledger(f"{url}?table_prefix=genops_bench_")
    return None


def main() -> None:
    bare = Engine()
    ten = build_engine(TEN_POLICIES)
    req = request()
    req_text = request((PROMPT,))
    rows = [
        ("admit+settle, no policies", measure(decide(bare, req), 5000)),
        ("admit+settle, 10 policies, memory ledger", measure(decide(ten, req), 2000)),
        ("  same, with a 2 KB prompt for the content rules", measure(decide(ten, req_text), 500)),
    ]
    print(f"prompt: {len(PROMPT)} characters")
    for label, us in rows:
        print(f"{label:<52}: {us:8.1f} µs/decision")
    scan_us = measure(lambda: scan(PROMPT, DETECTOR_NAMES) and None, 500)
    print(f"{'content scan, 2 KB, all 7 detectors':<52}: {scan_us:8.1f} µs")

    with tempfile.TemporaryDirectory() as tmp:
        ledgers: list[tuple[str, Ledger | None]] = [
            ("memory", open_ledger("memory")),
            ("sqlite (WAL, local file)", open_ledger(f"sqlite:///{Path(tmp) / 'l.db'}")),
            ("redis (127.0.0.1, Lua scripts)", redis_ledger()),
            ("postgres (127.0.0.1, advisory locks)", postgres_ledger()),
        ]
        for name, ledger in ledgers:
            if ledger is None:
                print(f"reserve+settle {name:<37}: skipped (server not reachable)")
                continue
            n = 20_000 if name == "memory" else 1_000
            cycle = ledger_cycle(ledger)
            us = measure(cycle, n)
            cpu = measure_cpu(cycle, n)
            print(f"reserve+settle {name:<37}: {us:8.1f} µs/unit wall, {cpu:8.1f} µs CPU")
            if name.startswith("redis"):
                per_reserve, per_settle = redis_round_trips(ledger)
                print(
                    f"  redis commands seen by MONITOR: {per_reserve:.2f} per reserve, "
                    f"{per_settle:.2f} per settle"
                )
            ledger.close()


if __name__ == "__main__":
    main()
