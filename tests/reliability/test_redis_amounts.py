"""Finding 7 on Redis (a private ``redis-server`` per test): Lua numbers are doubles, so
amounts travel as integer strings into ``INCRBY``. A response of 10¹⁵ tokens, or a
settlement far beyond 2⁵³ nano-dollars, neither fails the script nor opens the circuit
breaker for other teams; a huge reservation at a 10¹² limit keeps its TTL and stops
blocking the team once it expires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

import genops
from genops import attributes as A
from genops.attribution import Attribution
from genops.ledger import Claim, Reservation
from genops.ledger.base import MAX_AMOUNT
from genops.ledger.guard import GuardedLedger
from genops.ledger.redis import RedisLedger
from genops.policy import Engine, ManualClock
from genops.policy.base import Estimate, UnitRequest
from genops.policy.loader import build_engine
from tests.conftest import Telemetry
from tests.reliability.servers import RedisServer

pytestmark = pytest.mark.redis
PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]
TTL = 600.0


def budgets(**extra: Any) -> dict[str, Any]:
    return {"version": 1, "defaults": {"reservation_ttl": "600s"}, "policies": [
        {"name": "usd", "type": "budget", "limit": 10, "window": "daily", "per": "team",
         "on_ledger_error": "fail_closed"},
        {"name": "tokens", "type": "budget", "unit": "tokens", "limit": 10**12,
         "window": "daily", "per": "team", "on_ledger_error": "fail_closed"},
    ], **extra}  # fmt: skip


def call(team: str, raw: dict[str, int]) -> None:
    request = genops.RequestEstimate(input_tokens=10, max_output_tokens=10)
    with genops.governed(
        "reply", provider="openai", model="acme-1", request=request,
        attribution=genops.Attribution(team=team),
    ) as unit:  # fmt: skip
        unit.record_usage(raw=raw)


def engine() -> Engine:
    found = genops.get_runtime().engine
    assert isinstance(found, Engine) and isinstance(found.ledger, GuardedLedger)
    return found


@pytest.mark.parametrize("tokens", [10**15, 10**12])
def test_a_huge_response_neither_breaks_the_script_nor_opens_the_breaker(
    redis_server: RedisServer,
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    tokens: int,
) -> None:
    clock = ManualClock()
    doc = budgets()
    make_genops(policy=build_engine(doc, ledger=redis_server.url, clock=clock), prices=PRICES)
    call("a", {"prompt_tokens": tokens, "completion_tokens": 1})
    # the next calls, this team's and another's, are decided by the ledger: no breaker
    call("b", {"prompt_tokens": 10, "completion_tokens": 10})
    assert engine().ledger.failures == 0  # type: ignore[attr-defined]
    results = [dict(s.attributes or {})[A.POLICY_RESULT] for s in telemetry.spans()]
    assert results == ["ALLOWED", "ALLOWED"]
    a = engine().budget_status("usd", team="a")
    assert a.reserved == 0
    if tokens > 10**12:  # not usage (outside 0..10**12): charged its reservation
        assert dict(telemetry.spans()[0].attributes or {})[A.ACCOUNTING_INCOMPLETE] is True
        assert a.consumed == pytest.approx(0.02)
    else:  # $1e9 of usage: settled, bounded to MAX_AMOUNT nano-dollars, exact integers
        assert a.consumed == pytest.approx(MAX_AMOUNT / 1e9)
        with pytest.raises(genops.PolicyViolationError):
            call("a", {"prompt_tokens": 1, "completion_tokens": 1})  # a's budget is spent
    assert engine().budget_status("usd", team="b").consumed == pytest.approx(0.02)


def test_settlements_beyond_doubles_stay_exact_integers(redis_server: RedisServer) -> None:
    ledger = RedisLedger(redis_server.url, prefix="t7:")
    claim = Claim(key="k", limit=MAX_AMOUNT, amount=10, bucket="d", buckets=("d",))
    for actual in (10**15 + 1, 10**20):  # the second is clamped to MAX_AMOUNT
        held = ledger.reserve([claim], ttl=TTL, now=1000.0)
        assert isinstance(held, Reservation)
        ledger.settle(held, [actual], now=1000.0)
    stored = redis.Redis.from_url(redis_server.url).get("t7:c:k:d")
    assert stored == str(10**15 + 1 + MAX_AMOUNT).encode()  # an integer, not "1e+15"
    position = ledger.usage("k", ("d",), MAX_AMOUNT, now=1000.0)
    assert (position.consumed, position.reserved) == (10**15 + 1 + MAX_AMOUNT, 0)
    ledger.close()


def test_a_huge_reservation_keeps_its_ttl_and_expires(redis_server: RedisServer) -> None:
    clock = ManualClock()
    eng = build_engine(budgets(), ledger=f"{redis_server.url}?prefix=t7b:", clock=clock)
    huge = UnitRequest(
        attribution=Attribution(team="a"), operation_name="big", operation_type="chat",
        provider="openai", model="acme-1",
        estimate=Estimate(input_tokens=9 * 10**11, max_output_tokens=10**10),
    )  # fmt: skip
    admission = eng.admit(huge)  # then the process dies: never settled nor released
    assert admission.decision.proceeds
    client = redis.Redis.from_url(redis_server.url)
    keys = [k for k in client.scan_iter(match="t7b:r*") if b"tokens" in k]
    assert keys, "the reservation keys exist"
    for key in keys:
        ttl_ms = client.pttl(key)
        assert 0 < ttl_ms <= (2 * TTL + 1) * 1000  # expires: never a key without TTL
    small = UnitRequest(
        attribution=Attribution(team="a"), operation_name="small", operation_type="chat",
        provider="openai", model="acme-1",
        estimate=Estimate(input_tokens=10**11, max_output_tokens=10),
    )  # fmt: skip
    assert not eng.admit(small).decision.proceeds  # held by the in-flight reservation
    clock.advance(TTL + 1)  # the reservation's TTL (the caller's clock)
    after = eng.admit(small)
    assert after.decision.proceeds  # the team is no longer blocked
    assert eng.budget_status("tokens", team="a").reserved == 10**11 + 10
    eng.close()
    client.close()


def test_a_reservation_beyond_doubles_is_stored_whole_with_its_ttl(
    redis_server: RedisServer,
) -> None:
    ledger = RedisLedger(redis_server.url, prefix="t7c:")
    claim = Claim(key="k", limit=10**16, amount=10**15 + 1, bucket="d", buckets=("d",))
    held = ledger.reserve([claim], ttl=TTL, now=1000.0)
    assert isinstance(held, Reservation)
    client = redis.Redis.from_url(redis_server.url)
    for key in ("t7c:r:k", "t7c:ra:k", "t7c:rs:k"):
        assert 0 < client.pttl(key) <= (2 * TTL + 1) * 1000
    assert client.get("t7c:rs:k") == str(10**15 + 1).encode()
    assert ledger.usage("k", ("d",), 10**16, now=1000.0).reserved == 10**15 + 1
    assert ledger.usage("k", ("d",), 10**16, now=1000.0 + TTL + 1).reserved == 0
    ledger.close()
    client.close()
