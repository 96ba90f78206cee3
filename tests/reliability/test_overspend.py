"""Finding 8 under load: N OS processes call the real OpenAI SDK against one small
budget while the provider bills the worst case a byte-level BPE tokenizer allows
(every UTF-8 byte of every message a token, plus the chat template). Because each
reservation is an upper bound of what is billed, the settled total never exceeds the
limit — on SQLite and on Redis. (With the old 4-characters-a-token estimate the same
run settled above the limit.)"""

from __future__ import annotations

import json
import multiprocessing as mp
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import genops
import genops_native
from genops.policy import Engine
from genops.policy.loader import build_engine
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.reliability.servers import RedisServer

LIMIT = Decimal("0.005")
PRICES = [{"provider": "openai", "model": "gpt-4o-mini*", "input": 0.15, "output": 0.6}]
PROMPTS = [
    "Résumé of the Zürich meeting — 会议纪要 🚀🚀",
    "naïve café ☕ 東京 ✓",
    "plain ascii question?",
]
MAX_TOKENS = 8


class WorstCaseBilling(FakeProvider):
    """Bills input as UTF-8 bytes of every message text + 4 a message + 3 (the most a
    byte-level BPE tokenizer with OpenAI's chat template can count)."""

    def respond(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        body = json.loads(raw)
        prompt = 3 + sum(4 + len(str(m.get("content", "")).encode()) for m in body["messages"])
        usage = wire.chat_usage(prompt, int(body["max_tokens"]))
        return Reply.json(wire.chat_completion(str(body["model"]), usage=usage))


def _worker(calls: int, seed: int, barrier: Any, results: Any) -> None:
    billing = WorstCaseBilling()
    client = openai.OpenAI(
        api_key="k", max_retries=0, http_client=httpx.Client(transport=billing.transport())
    )
    outcomes: Counter[str] = Counter()
    barrier.wait()
    for i in range(calls):
        prompt = PROMPTS[(seed + i) % len(PROMPTS)] * (1 + (seed + i) % 5)
        try:
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "be brief"},
                          {"role": "user", "content": prompt}],
                max_tokens=MAX_TOKENS,
            )  # fmt: skip
            outcomes["sent"] += 1
        except genops.PolicyViolationError as exc:
            outcomes[str(exc.decision.reason_code)] += 1
    results.put(dict(outcomes))


def run(ledger_url: str, processes: int, calls: int, make_genops: Callable[..., Any]) -> None:
    doc = {"version": 1, "policies": [
        {"name": "spend", "type": "budget", "limit": str(LIMIT), "window": "daily"}]}  # fmt: skip
    make_genops(policy=build_engine(doc, ledger=ledger_url), prices=PRICES)
    handle = genops_native.instrument_openai()
    try:
        ctx = mp.get_context("fork")
        barrier, results = ctx.Barrier(processes), ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(calls, n, barrier, results)) for n in range(processes)
        ]
        for p in procs:
            p.start()
        total: Counter[str] = Counter()
        for _ in procs:
            total.update(results.get(timeout=300))
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        handle.uninstrument()
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    status = engine.budget_status("spend")
    blocked = total["BUDGET_EXCEEDED"] + total["BUDGET_RESERVATION_FAILED"]
    assert total["sent"] > 0 and blocked > 0, total  # the budget ran out
    assert set(total) <= {"sent", "BUDGET_EXCEEDED", "BUDGET_RESERVATION_FAILED"}, total
    assert status.reserved == 0
    assert Decimal(str(status.consumed)) <= LIMIT  # never above the limit


def test_sqlite_settled_never_exceeds_the_limit(
    tmp_path: Path, make_genops: Callable[..., Any]
) -> None:
    run(f"sqlite:///{tmp_path / 'ledger.db'}", 4, 120, make_genops)


@pytest.mark.heavy
def test_sqlite_8_processes_x_300_calls(tmp_path: Path, make_genops: Callable[..., Any]) -> None:
    run(f"sqlite:///{tmp_path / 'ledger.db'}", 8, 300, make_genops)


@pytest.mark.heavy
@pytest.mark.redis
def test_redis_8_processes_x_300_calls(
    redis_server: RedisServer, make_genops: Callable[..., Any]
) -> None:
    run(redis_server.url, 8, 300, make_genops)
