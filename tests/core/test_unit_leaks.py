"""No per-unit object outlives its exported span: governed units, their spans, run-tree
nodes' units and ledger holds are all collectable once the span has been exported.

The exporter here keeps nothing (as a batch exporter after sending), so anything still
alive after ``gc.collect()`` is held by genops itself.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

import genops
from genops import _safety
from genops.adapter import RunTree

POLICY = {
    "version": 1,
    "policies": [
        {"name": "models", "type": "allowed_models", "models": ["gpt-4o-mini"]},
        {
            "name": "team-monthly",
            "type": "budget",
            "limit": 1e6,
            "window": "monthly",
            "per": "team",
        },
        {"name": "cap", "type": "max_cost_per_call", "limit": 5.0},
    ],
}


class Counting(SpanExporter):
    """Counts exported spans and keeps none of them."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


@pytest.fixture
def dropping() -> Iterator[tuple[genops.GenOps, Counting]]:
    exporter = Counting()
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    rt = genops.init(
        service_name="leaks",
        team="t",
        project="p",
        policy=POLICY,
        tracer_provider=tp,
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
        instrument=False,
        local_store=False,
    )
    yield rt, exporter
    genops.shutdown()
    _safety.reset()


def _alive(refs: list[weakref.ref[Any]]) -> int:
    gc.collect()
    return sum(1 for r in refs if r() is not None)


def _held(rt: genops.GenOps) -> int:
    ledger: Any = rt.engine.ledger  # type: ignore[attr-defined]
    inner = getattr(ledger, "inner", ledger)
    return sum(len(entry.held) for entry in inner._keys.values())


def test_governed_units_and_their_spans_are_released(dropping: Any) -> None:
    rt, exporter = dropping
    refs: list[weakref.ref[Any]] = []
    for i in range(300):
        with genops.attribution(customer_id=f"c{i % 7}"):
            with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
                unit.record_usage(input_tokens=100, output_tokens=20)
        refs += [weakref.ref(unit), weakref.ref(unit.span)]
    del unit
    assert exporter.exported == 300
    assert _alive(refs) == 0
    assert _held(rt) == 0


def test_run_tree_units_spans_and_failed_calls_are_released(dropping: Any) -> None:
    rt, exporter = dropping
    tree = RunTree()
    refs: list[weakref.ref[Any]] = []
    for i in range(200):
        root = tree.start_step(
            ("wf", i), None, "invoke_workflow chain", operation="invoke_workflow"
        )
        call = tree.start_call(
            ("llm", i),
            ("wf", i),
            operation_name="bench.chat",
            provider="openai",
            model="gpt-4o-mini",
        )
        refs += [weakref.ref(root.span), weakref.ref(call.span), weakref.ref(call.unit)]
        if i % 4 == 0:
            tree.end(("wf", i), RuntimeError("provider down"))  # ends the open call too
        else:
            tree.record_response(("llm", i), usage={"input_tokens": 50, "output_tokens": 5})
            tree.end(("llm", i))
            tree.end(("wf", i))
        del root, call
    assert len(tree) == 0
    assert exporter.exported == 400
    assert _alive(refs) == 0
    assert _held(rt) == 0


def _freed_without_the_collector(refs: list[weakref.ref[Any]]) -> int:
    """How many referents are still alive with the cyclic collector kept off: anything
    in a reference cycle waits for it (a full collection walks every object the app
    has), the rest goes at once."""
    return sum(1 for r in refs if r() is not None)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_finished_unit_leaves_no_reference_cycle(dropping: Any, collector_off: None) -> None:
    rt, exporter = dropping
    refs: list[weakref.ref[Any]] = []
    for _ in range(50):
        with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
            claim = unit.claim()  # the SDK layer's claim: unit and claim refer to each other
            claim.add_provider_call(genops.Usage(input_tokens=10, output_tokens=2))
        assert not claim.is_open and not unit.claim().is_open  # finished: closed claims
        refs += [weakref.ref(unit), weakref.ref(unit.span)]
        del unit, claim
    assert exporter.exported == 50
    assert _freed_without_the_collector(refs) == 0
    assert _held(rt) == 0


def test_run_tree_calls_leave_no_reference_cycle(dropping: Any, collector_off: None) -> None:
    rt, exporter = dropping
    tree = RunTree()
    refs: list[weakref.ref[Any]] = []
    for i in range(50):
        tree.start_step(("wf", i), None, "invoke_workflow chain", operation="invoke_workflow")
        call = tree.start_call(
            ("llm", i), ("wf", i), operation_name="chat", provider="openai", model="gpt-4o-mini"
        )
        with tree.claim(("llm", i)).activated():
            genops.adapter.current_claim().add_provider_call(  # type: ignore[union-attr]
                genops.Usage(input_tokens=50, output_tokens=5)
            )
        refs += [weakref.ref(call.unit), weakref.ref(call.span)]
        tree.end(("llm", i))
        tree.end(("wf", i))
        del call
    assert exporter.exported == 100
    assert _freed_without_the_collector(refs) == 0
    assert _held(rt) == 0


def test_blocked_calls_leave_no_reference_cycle(dropping: Any, collector_off: None) -> None:
    """A runaway agent retrying a blocked call must not pile up garbage: the raised
    PolicyViolationError's traceback must not hold the unit in a cycle."""
    rt, exporter = dropping
    tree = RunTree()
    refs: list[weakref.ref[Any]] = []
    decisions = []
    for i in range(50):
        unit = genops.governed("reply", provider="openai", model="gpt-4-turbo")  # not allowed
        refs += [weakref.ref(unit)]
        try:
            with unit:
                raise AssertionError("a blocked unit must not run")
        except genops.PolicyViolationError as error:
            decisions.append(error.decision.result)
        refs.append(weakref.ref(unit.span))
        del unit
        try:
            tree.start_call(
                ("llm", i), None, operation_name="chat", provider="openai", model="gpt-4-turbo"
            )
        except genops.PolicyViolationError as error:
            decisions.append(error.decision.result)
    assert len(tree) == 0
    assert set(decisions) == {genops.DecisionResult.BLOCKED}
    assert exporter.exported == 100
    assert _freed_without_the_collector(refs) == 0
    assert _held(rt) == 0
