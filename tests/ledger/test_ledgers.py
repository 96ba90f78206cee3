"""The Ledger contract, run against memory, SQLite and the real Redis."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from genops.ledger import NANOS, Claim, Denied, Ledger, Position, Reservation

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def claim(key: str = "budget:k", limit: int = 100, amount: int = 10, **kw: object) -> Claim:
    kw.setdefault("bucket", "b1")
    kw.setdefault("buckets", ("b1",))
    return Claim(key, limit, amount, **kw)  # type: ignore[arg-type]


def reserve(ledger: Ledger, claims: list[Claim], now: float = NOW, ttl: float = 60) -> Reservation:
    outcome = ledger.reserve(claims, ttl=ttl, now=now)
    assert isinstance(outcome, Reservation), outcome
    return outcome


def test_reserve_settle_release_positions(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    r1 = reserve(ledger, [claim(amount=30)])
    assert r1.positions == (Position(consumed=0, reserved=30, limit=100),)
    assert r1.over == (False,)
    r2 = reserve(ledger, [claim(amount=50)])
    assert r2.positions[0] == Position(0, 80, 100)

    settled = ledger.settle(r1, [12], now=NOW + 1)
    assert settled.found is True
    assert settled.positions == (Position(12, 50, 100),)
    ledger.release(r2, now=NOW + 2)
    assert ledger.usage("budget:k", ("b1",), 100, now=NOW + 3) == Position(12, 0, 100)
    assert ledger.usage("budget:k", ("b1",), 100, now=NOW + 3).remaining == 88


def test_denied_when_it_does_not_fit_and_nothing_is_reserved(
    make_ledger: Callable[[], Ledger],
) -> None:
    ledger = make_ledger()
    reserve(ledger, [claim(amount=90)])
    outcome = ledger.reserve([claim("budget:other", amount=5), claim(amount=11)], ttl=60, now=NOW)
    assert isinstance(outcome, Denied)
    assert outcome.failed == (1,)
    assert outcome.positions == (Position(0, 0, 100), Position(0, 90, 100))
    # all or nothing: the first claim, which fitted, was not reserved either
    assert ledger.usage("budget:other", ("b1",), 100, now=NOW).reserved == 0
    # exactly the remainder still fits
    assert isinstance(ledger.reserve([claim(amount=10)], ttl=60, now=NOW), Reservation)
    assert ledger.usage("budget:k", ("b1",), 100, now=NOW) == Position(0, 100, 100)


def test_a_crashed_reservation_expires_after_its_ttl(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    reserve(ledger, [claim(amount=100)], ttl=30)  # never settled: the process "crashed"
    assert isinstance(ledger.reserve([claim(amount=1)], ttl=30, now=NOW + 29), Denied)
    assert ledger.usage("budget:k", ("b1",), 100, now=NOW + 31) == Position(0, 0, 100)
    assert isinstance(ledger.reserve([claim(amount=100)], ttl=30, now=NOW + 31), Reservation)


def test_settling_an_expired_reservation_still_charges(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    r = reserve(ledger, [claim(amount=40)], ttl=5)
    settled = ledger.settle(r, [35], now=NOW + 10)
    assert settled.found is False
    assert settled.positions == (Position(35, 0, 100),)


def test_unenforced_claims_reserve_over_the_limit_and_say_so(
    make_ledger: Callable[[], Ledger],
) -> None:
    ledger = make_ledger()
    r = reserve(ledger, [claim(amount=150, enforce=False)])
    assert r.over == (True,)
    assert r.positions[0] == Position(0, 150, 100)
    assert r.positions[0].remaining == 0


def test_commit_claims_count_at_once_and_ignore_settlement(
    make_ledger: Callable[[], Ledger],
) -> None:
    ledger = make_ledger()
    rate = claim("rate:r", limit=2, amount=1, commit=True)
    r = reserve(ledger, [rate])
    assert r.positions == (Position(1, 0, 2),)
    ledger.settle(r, [0], now=NOW)
    reserve(ledger, [rate])
    denied = ledger.reserve([rate], ttl=60, now=NOW)
    assert isinstance(denied, Denied)
    assert denied.positions == (Position(2, 0, 2),)


def test_only_the_listed_buckets_count(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    r = reserve(ledger, [claim(bucket="2026-01", buckets=("2026-01",))])
    ledger.settle(r, [60], now=NOW)
    assert ledger.usage("budget:k", ("2026-01",), 100, now=NOW).consumed == 60
    assert ledger.usage("budget:k", ("2026-02",), 100, now=NOW).consumed == 0
    # a rolling window sums several buckets
    r = reserve(ledger, [claim(bucket="2026-02", buckets=("2026-01", "2026-02"))])
    ledger.settle(r, [30], now=NOW)
    assert ledger.usage("budget:k", ("2026-01", "2026-02"), 100, now=NOW).consumed == 90


def test_money_amounts_are_exact_integers(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    limit = 5_000_000 * NANOS  # 5 million USD in nano-dollars
    r = reserve(ledger, [claim(limit=limit, amount=1_234_567_890_123_457)])
    settled = ledger.settle(r, [1_234_567_890_123_451], now=NOW)
    assert settled.positions[0] == Position(1_234_567_890_123_451, 0, limit)


def test_two_connections_share_the_same_budget(make_ledger: Callable[[], Ledger]) -> None:
    a, b = make_ledger(), make_ledger()
    reserve(a, [claim(amount=70)])
    assert isinstance(b.reserve([claim(amount=31)], ttl=60, now=NOW), Denied)
    assert b.usage("budget:k", ("b1",), 100, now=NOW).reserved == 70


@pytest.mark.redis
def test_redis_buckets_expire_with_their_window(redis_url: str) -> None:
    import redis

    from genops.ledger.redis import RedisLedger

    base, _, prefix = redis_url.partition("?prefix=")
    ledger = RedisLedger(base, prefix=prefix)
    r = reserve(ledger, [claim(keep_for=120.0), claim("budget:forever", keep_for=None)])
    ledger.settle(r, [5, 5], now=NOW)
    client = redis.Redis.from_url(base)
    assert 0 < client.pttl(f"{prefix}c:budget:k:b1") <= 120_000
    assert client.pttl(f"{prefix}c:budget:forever:b1") == -1
    client.close()
    ledger.close()


def test_an_exhausted_budget_admits_nothing_not_even_zero(
    make_ledger: Callable[[], Ledger],
) -> None:
    ledger = make_ledger()
    assert isinstance(ledger.reserve([claim(amount=0)], ttl=60, now=NOW), Reservation)
    reserve(ledger, [claim(amount=100)])
    denied = ledger.reserve([claim(amount=0)], ttl=60, now=NOW)
    assert isinstance(denied, Denied)
    assert denied.failed == (0,)


@pytest.mark.redis
def test_redis_reservation_keys_expire_when_idle(redis_url: str) -> None:
    import redis

    from genops.ledger.redis import RedisLedger

    base, _, prefix = redis_url.partition("?prefix=")
    ledger = RedisLedger(base, prefix=prefix)
    r = reserve(ledger, [claim()], ttl=30)
    client = redis.Redis.from_url(base)
    for name in ("r", "ra", "rs"):
        assert 30_000 < client.pttl(f"{prefix}{name}:budget:k") <= 61_000
    ledger.settle(r, [1], now=NOW)
    client.close()
    ledger.close()


def test_keys_lists_held_and_consumed_instances(make_ledger: Callable[[], Ledger]) -> None:
    ledger = make_ledger()
    assert ledger.keys("budget:spend|") == []
    held = reserve(ledger, [claim("budget:spend|team=a"), claim("budget:spend|team=b")])
    other = reserve(ledger, [claim("budget:other|team=a")])
    assert ledger.keys("budget:spend|") == ["budget:spend|team=a", "budget:spend|team=b"]
    ledger.settle(held, [5, 0], now=NOW + 1)  # a consumed and b reserved-then-zero
    ledger.release(other, now=NOW + 1)
    held_keys = ledger.keys("budget:spend|")
    assert "budget:spend|team=a" in held_keys
    every = ledger.keys("")
    assert every and all(k.startswith("budget:") for k in every)


def test_mark_once_is_once_across_connections(
    make_ledger: Callable[[], Ledger], ledger_url: str
) -> None:
    """Alerts fire once fleet-wide: of two connections to one ledger (every kind,
    PostgreSQL included) exactly one sets a marker; it can be set again once expired
    (Redis expires markers on its own clock, not ``now``: checked without waiting only
    for the others)."""
    first, second = make_ledger(), make_ledger()
    marks = [
        first.mark_once("alert:b|team=a:0.5:2026-03-10", keep_for=60.0, now=1000.0),
        second.mark_once("alert:b|team=a:0.5:2026-03-10", keep_for=60.0, now=1001.0),
        second.mark_once("alert:b|team=a:0.9:2026-03-10", keep_for=60.0, now=1001.0),
    ]
    assert marks == [True, False, True]
    assert not first.mark_once("alert:b|team=a:0.9:2026-03-10", keep_for=60.0, now=1059.0)
    if not ledger_url.startswith("redis"):
        assert second.mark_once("alert:b|team=a:0.5:2026-03-10", keep_for=60.0, now=1061.0)
    assert first.mark_once("forever", keep_for=None, now=0.0)
    assert not second.mark_once("forever", keep_for=None, now=10.0**9)
