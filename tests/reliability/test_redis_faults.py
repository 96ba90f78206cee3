"""Redis faults on a private ``redis-server``: killed mid-run and restarted (empty)
under several OS processes — each budget fails open or closed exactly as configured,
the processes recover by themselves and the restarted ledger is never overspent;
hung (SIGSTOP) — a call is bounded by the ledger's socket timeout, then the circuit
breaker fails fast, and the ledger recovers after SIGCONT."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from genops.attribution import Attribution
from genops.decision import DecisionResult
from genops.ledger.redis import RedisLedger
from genops.policy import ManualClock
from genops.policy.base import Estimate, UnitRequest
from genops.policy.loader import build_engine
from tests.reliability.servers import RedisServer

pytestmark = pytest.mark.redis
COST = Decimal("0.01")
LIMIT = Decimal("0.30")
REQUEST = UnitRequest(
    attribution=Attribution(team="load", project="reliability"),
    operation_name="unit",
    operation_type="chat",
    provider="openai",
    model="gpt-4o-mini",
    estimate=Estimate(input_tokens=10, max_output_tokens=10, cost_usd=COST),
)


def policy(on_error: str) -> dict[str, Any]:
    return {"version": 1, "defaults": {"ledger_retry_after": "0.1s"}, "policies": [
        {"name": "shared", "type": "budget", "limit": str(LIMIT), "window": "total",
         "on_ledger_error": on_error}]}  # fmt: skip


def _worker(url: str, on_error: str, stop: Any, seen: Any, results: Any) -> None:
    engine = build_engine(policy(on_error), ledger=url)
    outcomes: Counter[str] = Counter()
    while not stop.is_set():
        admission = engine.admit(REQUEST)
        code = str(admission.decision.reason_code)
        if admission.decision.proceeds:
            engine.settle(admission, cost_usd=COST, usage=None)
            key = "ran" if admission.decision.result is DecisionResult.ALLOWED else "ran " + code
        else:
            key = "blocked " + code
        outcomes[key] += 1
        with seen.get_lock():
            seen[key.startswith("ran ") or key == "blocked x_ledger_unavailable"] += 1
        time.sleep(0.002)
    engine.close()
    results.put(dict(outcomes))


def wait_for(predicate: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


def kill_and_restart(server: RedisServer, processes: int, on_error: str) -> Counter[str]:
    ctx = mp.get_context("fork")
    stop, results = ctx.Event(), ctx.Queue()
    seen = ctx.Array("i", 2)  # [units decided by the ledger, units that saw it down]
    procs = [
        ctx.Process(target=_worker, args=(server.url, on_error, stop, seen, results))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        wait_for(lambda: seen[0] >= 5 * processes, "units before the kill")
        server.kill()  # mid-run: whatever the server held is gone
        wait_for(lambda: seen[1] >= 3 * processes, "units during the outage")
        server.start()  # back on the same port, empty
        ran_before = seen[0]
        wait_for(lambda: seen[0] >= ran_before + 40, "units after the restart")
    finally:
        stop.set()
    total: Counter[str] = Counter()
    for _ in procs:
        total.update(results.get(timeout=60))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return total


def check(server: RedisServer, processes: int, on_error: str) -> None:
    total = kill_and_restart(server, processes, on_error)
    budget = {"ran", "blocked BUDGET_EXCEEDED", "blocked BUDGET_RESERVATION_FAILED"}
    if on_error == "fail_open":  # ran, marked WARNING x_ledger_unavailable
        assert set(total) <= budget | {"ran x_ledger_unavailable"}, total
        assert total["ran x_ledger_unavailable"] > 0
    else:  # blocked, nothing ran without the ledger
        assert set(total) <= budget | {"blocked x_ledger_unavailable"}, total
        assert total["blocked x_ledger_unavailable"] > 0
    engine = build_engine(policy(on_error), ledger=server.url)
    status = engine.budget_status("shared")
    engine.close()
    assert Decimal(str(status.consumed)) <= LIMIT  # the restarted ledger: never overspent
    assert status.reserved == 0
    assert total["blocked BUDGET_EXCEEDED"] + total["blocked BUDGET_RESERVATION_FAILED"] > 0


@pytest.mark.parametrize("on_error", ["fail_open", "fail_closed"])
def test_redis_killed_and_restarted_under_2_processes(
    redis_server: RedisServer, on_error: str
) -> None:
    check(redis_server, 2, on_error)


@pytest.mark.heavy
@pytest.mark.parametrize("on_error", ["fail_open", "fail_closed"])
def test_redis_killed_and_restarted_under_4_processes(
    redis_server: RedisServer, on_error: str
) -> None:
    check(redis_server, 4, on_error)


@pytest.mark.parametrize("on_error", ["fail_open", "fail_closed"])
def test_a_hung_redis_is_bounded_by_the_socket_timeout(
    redis_server: RedisServer, on_error: str
) -> None:
    clock = ManualClock()
    ledger = RedisLedger(redis_server.url, prefix="hang:", socket_timeout=0.3)
    engine = build_engine(policy(on_error), ledger=ledger, clock=clock)
    assert engine.admit(REQUEST).decision.result is DecisionResult.ALLOWED
    redis_server.pause()
    decided: list[Any] = []
    worker = threading.Thread(target=lambda: decided.extend(engine.admit(REQUEST) for _ in "ab"))
    try:
        worker.start()
        worker.join(timeout=30)  # the socket timeout bounds the first; the breaker the second
        assert not worker.is_alive(), "a call hung on the stopped Redis"
    finally:
        redis_server.resume()
    expected = DecisionResult.WARNING if on_error == "fail_open" else DecisionResult.BLOCKED
    assert [d.decision.result for d in decided] == [expected, expected]
    assert {d.decision.reason_code for d in decided} == {"x_ledger_unavailable"}
    guard: Any = engine.ledger
    assert (guard.failures, guard.refused) == (2, 1)  # tried once, then failed fast
    clock.advance(1)  # past ledger_retry_after
    assert engine.admit(REQUEST).decision.result is DecisionResult.ALLOWED
    engine.close()
