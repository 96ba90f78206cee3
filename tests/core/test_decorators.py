"""track_usage / enforce_policy on sync, async, generator and async-generator functions."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry import trace

import genops
from genops import attributes as A
from tests.spec import assert_compliant


def _current_span_id() -> int:
    return trace.get_current_span().get_span_context().span_id


def test_sync_function(telemetry, runtime):
    @genops.track_usage("sync-op", team="search", feature="autocomplete")
    def work(x):
        return x * 2, _current_span_id()

    value, inner_id = work(21)
    assert value == 42
    span = telemetry.span("function")
    assert span.context.span_id == inner_id
    assert span.attributes[A.TEAM] == "search"
    assert span.attributes[A.FEATURE] == "autocomplete"
    assert span.attributes[A.OPERATION_NAME] == "sync-op"
    assert_compliant(span)
    assert work.__name__ == "work"


async def test_async_function_span_covers_the_whole_body(telemetry, runtime):
    seen = []

    @genops.track_usage("async-op")
    async def work():
        await asyncio.sleep(0.01)
        seen.append(_current_span_id())
        with genops.governed("inner", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=10, output_tokens=10)
        await asyncio.sleep(0)
        return "done"

    coro = work()
    assert telemetry.spans() == []  # nothing opens before the coroutine runs
    assert await coro == "done"
    outer = telemetry.span("function")
    inner = telemetry.span("chat gpt-4o-mini")
    assert seen == [outer.context.span_id]
    assert inner.parent.span_id == outer.context.span_id
    assert outer.end_time >= inner.end_time  # closed after the body, not before
    assert outer.attributes[A.ROLLUP_UNITS] == 1


def test_generator_function_spans_the_whole_iteration(telemetry, runtime):
    @genops.track_usage("gen-op")
    def gen(n):
        for i in range(n):
            with genops.governed("step", provider="openai", model="gpt-4o-mini") as unit:
                unit.record_usage(input_tokens=1, output_tokens=1)
            yield i

    g = gen(3)
    assert next(g) == 0
    assert telemetry.spans()[-1].name == "chat gpt-4o-mini"  # unit still open
    assert list(g) == [1, 2]
    outer = telemetry.span("function")
    assert outer.attributes[A.ROLLUP_UNITS] == 3
    steps = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"]
    assert all(s.parent.span_id == outer.context.span_id for s in steps)


def test_generator_closed_early_finishes_once(telemetry, runtime):
    @genops.track_usage("gen-op")
    def gen():
        yield 1
        yield 2

    g = gen()
    next(g)
    g.close()
    [span] = telemetry.spans()
    assert [e.name for e in span.events].count(A.EVENT_BUDGET_RECONCILIATION) == 1


async def test_async_generator_function(telemetry, runtime):
    @genops.track_usage("agen-op")
    async def agen():
        for i in range(2):
            await asyncio.sleep(0)
            yield i

    assert [i async for i in agen()] == [0, 1]
    assert_compliant(telemetry.span("function"))


def test_exception_in_function_is_recorded_and_reraised(telemetry, runtime):
    @genops.track_usage("fails")
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert telemetry.span("function").attributes[A.ERROR_TYPE] == "KeyError"


def test_enforce_policy_blocks_before_the_body(telemetry, runtime):
    genops.register_policy(
        "approved-models", lambda r: r.model in {"gpt-4o-mini"}, reason_code="POLICY_DENY_MODEL"
    )
    genops.register_policy("other", lambda r: False, reason_code="x_other")
    calls = []

    @genops.enforce_policy("approved-models", model="gpt-4o", provider="openai")
    def draft():
        calls.append(1)

    @genops.enforce_policy("approved-models", model="gpt-4o-mini", provider="openai")
    def ok():
        calls.append(2)

    with pytest.raises(genops.PolicyViolationError) as info:
        draft()
    assert info.value.reason_code == "POLICY_DENY_MODEL"
    assert calls == []
    ok()  # "other" would block, but only the named policy is evaluated
    assert calls == [2]


def test_decorator_argument_errors():
    with pytest.raises(TypeError, match="track_usage"):
        genops.track_usage(lambda: None)
    with pytest.raises(TypeError, match="policy names"):
        genops.enforce_policy("")
