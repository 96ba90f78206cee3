"""Budgets through the real lifecycle: reserve before the call, settle after it.

Prices are overridden so amounts are round: ``acme-*`` costs $0.001 per token,
so a unit with 100 input tokens and max 100 output tokens reserves $0.20.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import genops
from genops import attributes as A
from genops.policy import ManualClock
from genops.policy.loader import build_engine
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]
REQUEST = genops.RequestEstimate(input_tokens=100, max_output_tokens=100)


def budget(**spec: Any) -> dict[str, Any]:
    base = {"name": "team-budget", "type": "budget", "limit": 1.0, "window": "daily"}
    return {"version": 1, "policies": [{**base, **spec}]}


def call(
    output_tokens: int = 100, *, model: str = "acme-large", body: list[str] | None = None, **kw: Any
) -> genops.GovernedUnit:
    with genops.governed(
        "reply", provider="openai", model=model, request=kw.pop("request", REQUEST), **kw
    ) as unit:
        if body is not None:
            body.append("ran")
        unit.record_usage(input_tokens=100, output_tokens=output_tokens)
    return unit


def events(span: Any, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes) for e in span.events if e.name == name]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp())


@pytest.fixture
def start(
    make_genops: Callable[..., genops.GenOps], clock: ManualClock
) -> Callable[..., genops.GenOps]:
    def make(policy: dict[str, Any], ledger: str = "memory") -> genops.GenOps:
        engine = build_engine(policy, ledger=ledger, clock=clock)
        return make_genops(policy=engine, prices=PRICES)

    return make


def test_budget_blocks_before_the_call_when_exhausted(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=0.4))
    call()  # reserves 0.20, settles 0.20
    call()  # 0.40: the budget is now fully consumed
    body: list[str] = []
    with pytest.raises(genops.PolicyViolationError) as err:
        call(body=body)
    assert body == []  # blocked before the body ran
    assert err.value.reason_code == "BUDGET_EXCEEDED"
    assert err.value.policy_name == "team-budget"

    blocked = telemetry.spans()[-1]
    attrs = dict(blocked.attributes or {})
    assert attrs[A.POLICY_RESULT] == "BLOCKED"
    assert attrs[A.POLICY_REASON_CODE] == "BUDGET_EXCEEDED"
    assert attrs[A.POLICY_NAME] == "team-budget"
    evaluated = events(blocked, A.EVENT_POLICY_EVALUATED)
    assert [(e.get(A.POLICY_NAME), e[A.POLICY_RESULT]) for e in evaluated] == [
        ("team-budget", "BLOCKED")
    ]
    assert not events(blocked, A.EVENT_BUDGET_RESERVATION)
    assert not events(blocked, A.EVENT_BUDGET_RECONCILIATION)
    status = genops.budget_status("team-budget")
    assert (status.consumed, status.reserved, status.remaining) == pytest.approx((0.4, 0, 0))


def test_reservation_failed_when_the_rest_is_smaller_than_the_reservation(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=0.5))
    call()
    call()  # 0.40 consumed, 0.10 left, next reservation is 0.20
    with pytest.raises(genops.PolicyViolationError) as err:
        call()
    assert err.value.reason_code == "BUDGET_RESERVATION_FAILED"
    assert "exceeds the remaining 0.1 USD" in str(err.value)
    # a smaller request still fits
    call(request=genops.RequestEstimate(input_tokens=50, max_output_tokens=50), output_tokens=50)
    assert genops.budget_status("team-budget").remaining == pytest.approx(0.0)


def test_allowed_unit_carries_reservation_budget_and_reconciliation(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=1.0))
    call(output_tokens=40)  # reserved 0.20, actual 0.14
    span = telemetry.span("chat acme-large")
    attrs = dict(span.attributes or {})
    assert attrs[A.ACCOUNTING_RESERVED] == pytest.approx(0.2)
    assert attrs[A.ACCOUNTING_ACTUAL] == pytest.approx(0.14)
    assert attrs[A.BUDGET_NAME] == "team-budget"
    assert attrs[A.BUDGET_ALLOCATED] == 1.0
    assert attrs[A.BUDGET_CONSUMED] == pytest.approx(0.14)
    assert attrs[A.BUDGET_REMAINING] == pytest.approx(0.86)
    assert attrs[A.BUDGET_PERIOD] == "2026-03-10"
    (reservation,) = events(span, A.EVENT_BUDGET_RESERVATION)
    assert reservation[A.BUDGET_REMAINING] == pytest.approx(0.8)
    (evaluated,) = events(span, A.EVENT_POLICY_EVALUATED)
    assert evaluated == {A.POLICY_RESULT: "ALLOWED"}
    assert span.attributes[A.POLICY_EVALUATED_NAMES] == ("team-budget",)
    status = genops.budget_status("team-budget")
    assert (status.consumed, status.reserved) == pytest.approx((0.14, 0.0))


def test_warning_enforcement_runs_and_records_the_overspend(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=0.3, enforcement="WARNING"))
    call()
    body: list[str] = []
    call(body=body)  # 0.40 > 0.30: runs anyway, flagged
    assert body == ["ran"]
    attrs = dict(telemetry.spans()[-1].attributes or {})
    assert attrs[A.POLICY_RESULT] == "WARNING"
    assert attrs[A.POLICY_REASON_CODE] == "BUDGET_EXCEEDED"
    assert genops.budget_status("team-budget").consumed == pytest.approx(0.4)


def test_failed_call_without_usage_releases_its_reservation(
    start: Callable[..., genops.GenOps],
) -> None:
    start(budget(limit=1.0))
    with (
        pytest.raises(RuntimeError),
        genops.governed("reply", provider="openai", model="acme-large", request=REQUEST),
    ):
        assert genops.budget_status("team-budget").reserved == pytest.approx(0.2)
        raise RuntimeError("provider down")
    status = genops.budget_status("team-budget")
    assert (status.consumed, status.reserved) == (0.0, 0.0)


def test_crashed_reservation_expires_after_the_ttl(
    start: Callable[..., genops.GenOps], clock: ManualClock
) -> None:
    policy = budget(limit=0.3)
    policy["defaults"] = {"reservation_ttl": "2m"}
    start(policy)
    unit = genops.governed("reply", provider="openai", model="acme-large", request=REQUEST)
    unit.start()  # never finished: the worker died
    with pytest.raises(genops.PolicyViolationError):
        call()
    clock.advance(121)
    call()
    assert genops.budget_status("team-budget").consumed == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("window", "tz", "start_at", "before_reset", "after_reset"),
    [
        # daily at local midnight in Berlin (UTC+1 in March before DST)
        ("daily", "Europe/Berlin", datetime(2026, 3, 10, 22, 30, tzinfo=UTC), 29 * 60, 31 * 60),
        # weekly: ISO weeks start on Monday (2026-03-15 is a Sunday)
        ("weekly", "UTC", datetime(2026, 3, 15, 23, 0, tzinfo=UTC), 59 * 60, 61 * 60),
        # monthly: resets on the 1st, even from the 31st
        ("monthly", "UTC", datetime(2026, 1, 31, 23, 0, tzinfo=UTC), 59 * 60, 61 * 60),
        # rolling: charges drop out after (1 + 1/20) × the duration at most
        ("rolling:1h", "UTC", datetime(2026, 3, 10, 12, 0, tzinfo=UTC), 3599, 3600 * 1.06),
    ],
)
def test_windows_reset_on_the_calendar(
    start: Callable[..., genops.GenOps],
    clock: ManualClock,
    window: str,
    tz: str,
    start_at: datetime,
    before_reset: float,
    after_reset: float,
) -> None:
    clock.set(start_at)
    start(budget(limit=0.2, window=window, timezone=tz))
    call()
    clock.set(start_at.timestamp() + before_reset)
    with pytest.raises(genops.PolicyViolationError):
        call()
    clock.set(start_at.timestamp() + after_reset)
    call()


def test_total_window_never_resets(start: Callable[..., genops.GenOps], clock: ManualClock) -> None:
    start(budget(limit=0.2, window="total"))
    call()
    clock.advance(400 * 86400)
    with pytest.raises(genops.PolicyViolationError):
        call()
    assert genops.budget_status("team-budget").period == "total"


def test_daily_period_follows_the_timezone(
    start: Callable[..., genops.GenOps], clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    start(budget(timezone="Asia/Tokyo"))
    local = datetime.fromtimestamp(clock(), ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert genops.budget_status("team-budget").period == local == "2026-03-11"


def test_per_keys_are_independent_and_scope_selects(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=0.2, per=["team", "model"], scope={"environment": "production"}))
    with genops.attribution(team="support", environment="production"):
        call()
        with pytest.raises(genops.PolicyViolationError):
            call()
        call(model="acme-small")  # another model: another budget key
    with genops.attribution(team="sales", environment="production"):
        call()
    with genops.attribution(team="support", environment="staging"):
        call()  # out of scope: no budget at all
    # no policy applied: the lifecycle records one anonymous ALLOWED decision
    assert events(telemetry.spans()[-1], A.EVENT_POLICY_EVALUATED) == [{A.POLICY_RESULT: "ALLOWED"}]
    s = genops.budget_status("team-budget", team="support", model="acme-large")
    assert s.key == "budget:team-budget|team=support|model=acme-large"
    assert s.consumed == pytest.approx(0.2)
    with pytest.raises(ValueError, match="missing"):
        genops.budget_status("team-budget", team="support")
    with pytest.raises(KeyError):
        genops.budget_status("nope")


def test_alerts_fire_once_per_threshold(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(limit=1.0, alert_at=[0.5, 0.8]))
    for _ in range(5):
        call()
    alerts = [e for s in telemetry.spans() for e in events(s, A.EVENT_BUDGET_ALERT)]
    assert [(a[A.BUDGET_NAME], a[A.BUDGET_THRESHOLD]) for a in alerts] == [
        ("team-budget", 0.5),
        ("team-budget", 0.8),
    ]
    points = telemetry.metrics()[A.METRIC_BUDGET_ALERTS]
    assert sum(p.value for p in points) == 2


def test_tokens_budget_counts_tokens(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    start(budget(unit="tokens", limit=450))
    call(output_tokens=50)  # reserves 200 tokens, settles 150
    call(output_tokens=50)  # 300
    with pytest.raises(genops.PolicyViolationError) as err:
        call()  # 300 + 200 > 450
    assert err.value.reason_code == "BUDGET_RESERVATION_FAILED"
    status = genops.budget_status("team-budget")
    assert (status.unit, status.consumed, status.remaining) == ("tokens", 300, 150)


@pytest.mark.parametrize(
    ("choice", "result", "code"),
    [("warn", "WARNING", "x_price_unknown"), ("block", "BLOCKED", "x_price_unknown"),
     ("allow", "ALLOWED", None)],
)  # fmt: skip
def test_unknown_price_follows_on_unknown_price(
    start: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    choice: str,
    result: str,
    code: str | None,
) -> None:
    start(budget(on_unknown_price=choice))
    if result == "BLOCKED":
        with pytest.raises(genops.PolicyViolationError):
            call(model="unpriced-model")
    else:
        call(model="unpriced-model")
    attrs = dict(telemetry.spans()[-1].attributes or {})
    assert attrs[A.POLICY_RESULT] == result
    assert attrs.get(A.POLICY_REASON_CODE) == code
    assert genops.budget_status("team-budget").consumed == 0


def test_init_ledger_without_policy_is_used_by_registered_budgets(
    make_genops: Callable[..., genops.GenOps], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    make_genops(ledger=url, prices=PRICES)
    genops.register_policy("reg-budget", type="budget", limit=0.2, window="total")
    call()
    with pytest.raises(genops.PolicyViolationError):
        call()
    genops.shutdown()
    # the consumption is in the SQLite file, not in memory
    engine = build_engine(
        {"version": 1, "policies": [{"name": "reg-budget", "type": "budget", "limit": 0.2,
                                     "window": "total"}]},
        ledger=url,
    )  # fmt: skip
    assert engine.budget_status("reg-budget").consumed == pytest.approx(0.2)
    engine.close()


def test_workflow_units_without_a_model_hit_the_wall_too(
    start: Callable[..., genops.GenOps],
) -> None:
    start(budget(limit=0.2))

    @genops.track_usage("agent-step")
    def step() -> str:
        return "thought"

    assert step() == "thought"  # costs nothing itself: reserves 0
    call()  # the model call inside the agent consumes the budget
    with pytest.raises(genops.PolicyViolationError) as err:
        step()
    assert err.value.reason_code == "BUDGET_EXCEEDED"


def test_budget_gauges_per_budget_instance(
    start: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    policy = budget(limit=1.0, per=["team"])
    policy["policies"].append(
        {"name": "org-budget", "type": "budget", "limit": 10.0, "window": "monthly"}
    )
    start(policy)
    call()  # support: 0.20 of 1.00; org: 0.20 of 10.00
    with genops.attribution(team="search"):
        call()
        call()  # search: 0.40
    points = telemetry.metrics()

    def gauge(name: str) -> dict[tuple[str, str], float]:
        return {
            (p.attributes[A.BUDGET_NAME], p.attributes[A.BUDGET_SCOPE]): p.value
            for p in points[name]
        }

    assert gauge(A.METRIC_BUDGET_UTILIZATION) == pytest.approx(
        {
            ("team-budget", "team=platform"): 0.2,
            ("team-budget", "team=search"): 0.4,
            ("org-budget", ""): 0.06,
        }
    )
    assert gauge(A.METRIC_BUDGET_CONSUMED)[("team-budget", "team=search")] == pytest.approx(0.4)
    assert gauge(A.METRIC_BUDGET_REMAINING)[("org-budget", "")] == pytest.approx(9.4)
    assert {p.attributes[A.BUDGET_UNIT] for p in points[A.METRIC_BUDGET_UTILIZATION]} == {"USD"}


@pytest.mark.parametrize("backend", ["memory", "redis", "sqlite", "postgres"])
def test_alerts_fire_once_over_100_calls_on_settled_spend(
    start: Callable[..., genops.GenOps],
    telemetry: Telemetry,
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """Each call reserves $0.20 but settles $0.11: consumed + reserved crosses a line
    before settled spend does, and falls back after each call (it used to flap)."""
    ledger = {
        "memory": "memory",
        "sqlite": f"sqlite:///{tmp_path / 'ledger.db'}",
        "redis": request.getfixturevalue("redis_url") if backend == "redis" else "",
        "postgres": request.getfixturevalue("postgres_url") if backend == "postgres" else "",
    }[backend]
    policy = budget(limit=20.0, alert_at=[0.25, 0.5, 0.9])
    start(policy, ledger)
    for _ in range(100):
        call(output_tokens=10)  # 100 in + 10 out at $1000/M = $0.11
    alerts = [e for s in telemetry.spans() for e in events(s, A.EVENT_BUDGET_ALERT)]
    assert [a[A.BUDGET_THRESHOLD] for a in alerts] == [0.25, 0.5]  # 0.9 never reached
    for alert in alerts:
        assert alert[A.BUDGET_WINDOW] == "daily"
        assert alert[A.BUDGET_PERIOD] == "2026-03-10"
        # fired on settled spend: the first settlement at or past the line
        assert (
            alert[A.BUDGET_THRESHOLD] * 20.0
            <= alert[A.BUDGET_CONSUMED]
            < (alert[A.BUDGET_THRESHOLD] * 20.0 + 0.11 + 1e-9)
        )
    points = telemetry.metrics()[A.METRIC_BUDGET_ALERTS]
    assert sum(p.value for p in points) == 2
    if backend == "memory":
        return
    # a second process on the same shared ledger: the thresholds already fired stay quiet
    telemetry.exporter.clear()
    start(policy, ledger)
    for _ in range(10):
        call(output_tokens=10)
    assert not [e for s in telemetry.spans() for e in events(s, A.EVENT_BUDGET_ALERT)]
