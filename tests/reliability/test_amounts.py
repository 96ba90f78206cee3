"""Findings 7 and 9: out-of-range amounts never admit a unit without a decision nor
overflow a ledger; negative or absurd provider counts flag the unit incomplete."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import attributes as A
from genops.policy import Engine, ManualClock
from genops.policy.loader import build_engine
from tests.conftest import Telemetry
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


def budget(kind: str) -> dict[str, object]:
    return {"version": 1, "policies": [
        {"name": "spend", "type": "budget", "limit": 10, "window": "daily",
         "on_ledger_error": "fail_closed"}]}  # fmt: skip


@pytest.mark.parametrize("ledger", ["sqlite", "memory"])
def test_a_huge_estimate_is_denied_with_a_decision(
    ledger: str, tmp_path: Path, make_genops: Callable[..., genops.GenOps]
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}" if ledger == "sqlite" else "memory"
    make_genops(policy=build_engine(budget(ledger), ledger=url, clock=ManualClock()), prices=PRICES)
    request = genops.RequestEstimate(input_tokens=10, max_output_tokens=10**20)
    with pytest.raises(genops.PolicyViolationError) as info:
        with genops.governed("reply", provider="openai", model="acme-1", request=request):
            pass
    assert info.value.decision.reason_code == "BUDGET_RESERVATION_FAILED"


@pytest.mark.parametrize("raw", [
    {"prompt_tokens": -5, "completion_tokens": 3},
    {"input_tokens": 10**17, "output_tokens": 1},
])  # fmt: skip
def test_bad_provider_counts_flag_the_unit_incomplete_and_charge_the_reservation(
    raw: dict[str, int],
    tmp_path: Path,
    make_genops: Callable[..., genops.GenOps],
    telemetry: Telemetry,
) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    make_genops(policy=build_engine(budget("s"), ledger=url, clock=ManualClock()), prices=PRICES)
    request = genops.RequestEstimate(input_tokens=10, max_output_tokens=10)
    with genops.governed("reply", provider="openai", model="acme-1", request=request) as unit:
        unit.record_usage(raw=raw)
    span = telemetry.spans()[-1]
    assert span.attributes[A.ACCOUNTING_INCOMPLETE] is True
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    status = engine.budget_status("spend")
    assert status.reserved == 0 and status.consumed > 0


@pytest.fixture
def sqlite_native(
    tmp_path: Path, make_genops: Callable[..., genops.GenOps]
) -> Iterator[genops.GenOps]:
    """genops with a fail_closed SQLite budget, the OpenAI SDK instrumented."""
    import genops_native

    url = f"sqlite:///{tmp_path / 'l.db'}"
    runtime = make_genops(policy=build_engine(budget("s"), ledger=url, clock=ManualClock()))
    handle = genops_native.instrument_openai()
    yield runtime
    handle.uninstrument()


def test_sdk_max_tokens_10e20_is_decided_and_nothing_is_sent(
    sqlite_native: genops.GenOps, fake: FakeProvider, make_openai: Any
) -> None:
    with pytest.raises(genops.PolicyViolationError) as info:
        make_openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=10**20
        )
    assert info.value.decision.reason_code == "BUDGET_RESERVATION_FAILED"
    assert fake.request_count == 0


def test_sdk_response_of_10e17_tokens_is_charged_bounded_and_released(
    sqlite_native: genops.GenOps, fake: FakeProvider, make_openai: Any, telemetry: Telemetry
) -> None:
    fake.script(Reply.json(wire.chat_completion("gpt-4o-mini", usage=wire.chat_usage(10**17, 5))))
    make_openai().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], max_tokens=10
    )
    (span,) = telemetry.spans()
    assert span.attributes[A.ACCOUNTING_INCOMPLETE] is True
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine)
    status = engine.budget_status("spend")
    assert status.reserved == 0
    assert 0 < status.consumed < 0.001  # the reservation's bound, not 10**17 tokens
