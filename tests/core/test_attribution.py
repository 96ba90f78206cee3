"""Attribution: nesting, isolation across tasks and threads, baggage propagation."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

import genops
from genops import attributes as A


def test_nested_blocks_override_field_by_field(runtime):
    with genops.attribution(team="support", project="helpdesk", feature="triage"):
        with genops.attribution(customer_id="acme", feature="reply") as inner:
            assert inner.as_dict() == {
                "team": "support",
                "project": "helpdesk",
                "customer_id": "acme",
                "feature": "reply",
            }
        assert genops.resolve_attribution().feature == "triage"
    assert genops.resolve_attribution().team is None


def test_unit_span_carries_block_attribution_over_init_defaults(telemetry, runtime):
    with genops.attribution(team="search", customer_id="acme", cost_center="cc-42"):
        with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=1, output_tokens=1)
    attrs = telemetry.span("chat gpt-4o-mini").attributes
    assert attrs[A.TEAM] == "search"
    assert attrs[A.PROJECT] == "genops-tests"  # from init
    assert attrs[A.CUSTOMER_ID] == "acme"
    assert attrs[A.COST_CENTER] == "cc-42"
    # customer_id is a span attribute, not a metric label, unless enabled
    [point, *_] = telemetry.metrics()[A.METRIC_COST]
    assert A.CUSTOMER_ID not in point.attributes
    assert point.attributes[A.TEAM] == "search"


def test_customer_metric_label_is_opt_in(telemetry, make_genops):
    make_genops(customer_metric_label=True)
    with genops.attribution(customer_id="acme"):
        with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=1, output_tokens=1)
    [point] = telemetry.metrics()[A.METRIC_COST]
    assert point.attributes[A.CUSTOMER_ID] == "acme"


def test_attribution_is_immutable_for_the_life_of_a_unit(telemetry, runtime):
    with genops.attribution(team="a"):
        unit = genops.governed("op", provider="openai", model="gpt-4o-mini").start()
    with genops.attribution(team="b"):
        unit.record_usage(input_tokens=1, output_tokens=1)
        unit.finish()
    assert telemetry.span("chat gpt-4o-mini").attributes[A.TEAM] == "a"
    assert unit.attribution.team == "a"


async def test_isolation_across_1000_concurrent_asyncio_tasks(telemetry, runtime):
    async def work(i: int) -> tuple[int, str | None, str | None]:
        with genops.attribution(team=f"team-{i}", customer_id=f"cust-{i}"):
            await asyncio.sleep(0)  # interleave every task
            async with genops.governed(f"op-{i}", provider="openai", model="gpt-4o-mini") as u:
                await asyncio.sleep(0)
                u.record_usage(input_tokens=1, output_tokens=1)
            seen = genops.resolve_attribution()
            return i, seen.team, seen.customer_id

    results = await asyncio.gather(*(work(i) for i in range(1000)))
    assert all(team == f"team-{i}" and cust == f"cust-{i}" for i, team, cust in results)
    spans = telemetry.spans()
    assert len(spans) == 1000
    for span in spans:
        i = span.attributes[A.OPERATION_NAME].removeprefix("op-")
        assert span.attributes[A.TEAM] == f"team-{i}"
        assert span.attributes[A.CUSTOMER_ID] == f"cust-{i}"


def test_isolation_across_a_thread_pool(telemetry, runtime):
    def work(i: int) -> str | None:
        with genops.attribution(team=f"team-{i}"):
            with genops.governed(f"op-{i}", provider="openai", model="gpt-4o-mini") as u:
                u.record_usage(input_tokens=1, output_tokens=1)
            return genops.resolve_attribution().team

    with genops.attribution(team="main-thread"):
        with ThreadPoolExecutor(max_workers=8) as pool:
            teams = list(pool.map(work, range(200)))
        assert genops.resolve_attribution().team == "main-thread"
    assert teams == [f"team-{i}" for i in range(200)]
    for span in telemetry.spans():
        assert span.attributes[A.TEAM] == "team-" + span.attributes[A.OPERATION_NAME][3:]


def test_baggage_round_trip_through_w3c_propagators(telemetry, runtime):
    propagator = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    carrier: dict[str, str] = {}
    # upstream service
    with genops.attribution(team="support", project="helpdesk", customer_id="acme"):
        with telemetry.tracer.start_as_current_span("upstream"):
            propagator.inject(carrier)
    assert "genops.team=support" in carrier["baggage"]
    assert "genops.customer_id=acme" in carrier["baggage"]
    assert genops.resolve_attribution().team is None  # nothing leaked upstream

    # downstream service: its server instrumentation extracts and attaches the context
    token = otel_context.attach(propagator.extract(carrier))
    try:
        with genops.governed("downstream-call", provider="openai", model="gpt-4o-mini") as unit:
            unit.record_usage(input_tokens=1, output_tokens=1)
    finally:
        otel_context.detach(token)
    span = telemetry.span("chat gpt-4o-mini")
    assert span.attributes[A.TEAM] == "support"
    assert span.attributes[A.PROJECT] == "helpdesk"  # baggage beats the local default
    assert span.attributes[A.CUSTOMER_ID] == "acme"
    assert span.parent.trace_id == telemetry.span("upstream").context.trace_id


def test_propagate_false_keeps_values_out_of_baggage(runtime):
    with genops.attribution(customer_id="secret-tenant", propagate=False):
        assert baggage.get_baggage("genops.customer_id") is None
        assert genops.resolve_attribution().customer_id == "secret-tenant"


@pytest.mark.parametrize(
    ("kwargs", "error"), [({"team": ""}, ValueError), ({"team": 5}, TypeError)]
)
def test_invalid_attribution_names_the_field(kwargs, error):
    with pytest.raises(error, match="team"):
        with genops.attribution(**kwargs):
            pass
