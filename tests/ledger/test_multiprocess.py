"""The headline: N OS processes hammering one budget never overspend.

8 processes × 500 units each against one small budget, on the real Redis, on
SQLite and on PostgreSQL, through the real policy engine (``admit`` → ``settle``). Each unit
reserves exactly its cost ($0.01), the limit is $5.005, so exactly 500 units may
run, 3,500 must be BLOCKED, and the settled total must stay within the limit plus
the reservations that can be in flight (one per process).
"""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from genops.attribution import Attribution
from genops.decision import DecisionResult
from genops.policy.base import Estimate, UnitRequest
from genops.policy.loader import build_engine

PROCESSES = 8
UNITS = 500
COST = Decimal("0.01")
LIMIT = Decimal("5.005")
POLICY = {
    "version": 1,
    "policies": [{"name": "shared", "type": "budget", "limit": str(LIMIT), "window": "total"}],
}


def _worker(ledger_url: str, barrier: Any, results: Any) -> None:
    engine = build_engine(POLICY, ledger=ledger_url)
    request = UnitRequest(
        attribution=Attribution(team="load", project="test"),
        operation_name="hammer",
        operation_type="chat",
        provider="openai",
        model="gpt-4o-mini",
        estimate=Estimate(input_tokens=10, max_output_tokens=10, cost_usd=COST),
    )
    outcomes: Counter[str] = Counter()
    barrier.wait()
    for _ in range(UNITS):
        admission = engine.admit(request)
        if admission.decision.proceeds:
            engine.settle(admission, cost_usd=COST, usage=None)
            outcomes["settled"] += 1
            if admission.decision.reason_code:  # e.g. x_ledger_unavailable (fail_open)
                outcomes[f"ran with {admission.decision.reason_code}"] += 1
        else:
            assert admission.decision.result is DecisionResult.BLOCKED
            outcomes[str(admission.decision.reason_code)] += 1
    engine.close()
    results.put(dict(outcomes))


def hammer(ledger_url: str) -> Counter[str]:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(ledger_url, barrier, results)) for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    total: Counter[str] = Counter()
    for _ in procs:
        total.update(results.get(timeout=120))
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return total


def check(ledger_url: str) -> None:
    total = hammer(ledger_url)
    engine = build_engine(POLICY, ledger=ledger_url)
    status = engine.budget_status("shared")
    engine.close()

    allowed = int(LIMIT // COST)  # 500
    blocked = PROCESSES * UNITS - allowed
    assert set(total) <= {"settled", "BUDGET_EXCEEDED", "BUDGET_RESERVATION_FAILED"}, total
    assert total["settled"] == allowed
    assert total["BUDGET_EXCEEDED"] + total["BUDGET_RESERVATION_FAILED"] == blocked
    settled = Decimal(str(status.consumed))
    max_in_flight = PROCESSES * COST
    assert settled == allowed * COST
    assert settled <= LIMIT + max_in_flight
    assert settled <= LIMIT  # each unit settled exactly what it reserved
    assert status.reserved == 0


@pytest.mark.slow
@pytest.mark.redis
def test_redis_budget_holds_under_8_processes(redis_url: str) -> None:
    check(redis_url)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_budget_holds_under_8_processes(postgres_url: str) -> None:
    check(postgres_url)


@pytest.mark.slow
def test_sqlite_budget_holds_under_8_processes(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'ledger.db'}")


def _forked_child(engine: Any, request: UnitRequest) -> None:
    admission = engine.admit(request)
    engine.settle(admission, cost_usd=COST, usage=None)
    engine.audit.flush()
    engine.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_an_engine_used_before_fork_works_in_the_child(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    """gunicorn --preload style: the engine (ledger connection, audit thread) is
    created and used in the parent, then the worker process forks."""
    from genops.audit import open_sink

    url = (
        f"sqlite:///{tmp_path / 'ledger.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    audit = f"jsonl:///{tmp_path / 'audit.jsonl'}"
    engine = build_engine({**POLICY, "audit": {"sink": audit}}, ledger=url)
    unit = UnitRequest(
        attribution=Attribution(team="t", project="p"),
        operation_name="pre-fork",
        operation_type="chat",
        provider="openai",
        model="gpt-4o-mini",
        estimate=Estimate(input_tokens=1, max_output_tokens=1, cost_usd=COST),
    )
    engine.settle(engine.admit(unit), cost_usd=COST, usage=None)
    engine.audit.flush()  # type: ignore[union-attr]
    child = mp.get_context("fork").Process(target=_forked_child, args=(engine, unit))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert engine.budget_status("shared").consumed == pytest.approx(float(2 * COST))
    engine.settle(engine.admit(unit), cost_usd=COST, usage=None)  # the parent still works
    engine.close()
    assert len(open_sink(audit).query()) == 3


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_sharing_one_engine_never_overspend(tmp_path: Path, kind: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = "memory" if kind == "memory" else f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = build_engine(POLICY, ledger=url)
    request = UnitRequest(
        attribution=Attribution(team="t", project="p"),
        operation_name="threads",
        operation_type="chat",
        provider="openai",
        model="gpt-4o-mini",
        estimate=Estimate(input_tokens=1, max_output_tokens=1, cost_usd=COST),
    )

    def work(_: int) -> bool:
        admission = engine.admit(request)
        if admission.decision.proceeds:
            engine.settle(admission, cost_usd=COST, usage=None)
        return admission.decision.proceeds

    with ThreadPoolExecutor(max_workers=8) as pool:
        ran = sum(pool.map(work, range(1000)))
    assert ran == int(LIMIT // COST)
    assert Decimal(str(engine.budget_status("shared").consumed)) == ran * COST
    engine.close()
