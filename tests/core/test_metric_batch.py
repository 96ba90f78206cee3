"""Batched metric records (genops._metric_batch): queued on the call, recorded when a
reader collects — nothing lost, nothing counted twice, exemplars still on the unit's span."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

import genops
from genops import attributes as A
from genops._metric_batch import BatchedCounter, BatchedHistogram, MetricBatch


def _points(reader: InMemoryMetricReader) -> dict[str, list]:
    data = reader.get_metrics_data()
    found: dict[str, list] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def _batched() -> tuple[InMemoryMetricReader, MetricBatch, BatchedHistogram, BatchedCounter]:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("t")
    batch = MetricBatch(meter)
    return (
        reader,
        batch,
        BatchedHistogram(meter.create_histogram("h"), batch),
        BatchedCounter(meter.create_counter("c"), batch),
    )


def test_records_are_queued_until_a_collection_then_all_recorded():
    reader, batch, histogram, counter = _batched()
    labels = {"team": "a"}
    for value in (1.0, 2.0, 3.0):
        histogram.record(value, labels)
        counter.add(value, labels)
    counter.add(10, {"team": "b"})
    assert len(batch) == 7
    points = _points(reader)
    assert len(batch) == 0
    [h] = points["h"]
    assert (h.count, h.sum, h.min, h.max) == (3, 6.0, 1.0, 3.0)
    sums = {p.attributes["team"]: p.value for p in points["c"]}
    assert sums == {"a": 6.0, "b": 10}
    # the flushing instrument itself exports nothing
    assert "genops.internal.metric_batch" not in points
    # a second collection counts nothing twice (cumulative sums unchanged)
    assert {p.attributes["team"]: p.value for p in _points(reader)["c"]} == sums


def test_the_queue_stays_bounded_without_any_collection():
    reader, batch, histogram, _ = _batched()
    for i in range(MetricBatch.LIMIT * 2 + 5):
        histogram.record(float(i), {"k": "v"})
        assert len(batch) < MetricBatch.LIMIT
    [h] = _points(reader)["h"]
    assert h.count == MetricBatch.LIMIT * 2 + 5


def test_a_background_thread_records_a_full_batch_between_collections():
    reader, batch, _, counter = _batched()
    for _ in range(MetricBatch.WAKE_AT):
        counter.add(1, {"k": "v"})
    deadline = time.monotonic() + 10
    while len(batch) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(batch) == 0  # recorded without any collection or call doing it
    assert any(t.name == "genops-metric-batch" for t in threading.enumerate())
    assert _points(reader)["c"][0].value == MetricBatch.WAKE_AT


def test_concurrent_records_and_collections_lose_nothing():
    reader, _, histogram, counter = _batched()
    labels = {"k": "v"}
    done = threading.Event()

    def collect() -> None:
        while not done.is_set():
            reader.get_metrics_data()

    def work() -> None:
        for _ in range(3000):
            counter.add(1, labels)
            histogram.record(1.0, labels)

    collector = threading.Thread(target=collect)
    collector.start()
    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    collector.join()
    points = _points(reader)
    assert points["c"][0].value == 12_000
    assert points["h"][0].count == 12_000


def test_histogram_exemplars_point_at_the_unit_span(telemetry, runtime):
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=10, output_tokens=5)
    span = telemetry.span("chat gpt-4o-mini")
    [duration] = telemetry.metrics()[A.METRIC_OPERATION_DURATION]
    [exemplar] = duration.exemplars
    assert exemplar.span_id == span.context.span_id
    assert exemplar.trace_id == span.context.trace_id


def test_a_record_outside_a_sampled_span_takes_no_exemplar_from_the_flushing_thread():
    reader, batch, histogram, _ = _batched()
    tracer = TracerProvider().get_tracer("t")
    histogram.record(1.0, {"k": "v"})  # no span current at the call
    with tracer.start_as_current_span("collector"):  # current while flushing
        batch.flush()
    [h] = _points(reader)["h"]
    assert not h.exemplars


def _child_pending(batch: MetricBatch, out: multiprocessing.Queue) -> None:
    out.put(len(batch))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_a_forked_child_drops_the_parents_queue():
    reader, batch, histogram, _ = _batched()
    histogram.record(1.0, {"k": "v"})
    ctx = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = ctx.Queue()
    child = ctx.Process(target=_child_pending, args=(batch, out))
    child.start()
    child.join(30)
    assert out.get(timeout=5) == 0  # the child's copy of the queue is empty
    assert len(batch) == 1  # the parent's record stays with the parent
    assert _points(reader)["h"][0].count == 1
