"""Metric records of the call path, queued on the call and recorded at collection time.

An OpenTelemetry SDK record costs ~14 µs (measurement, exemplar filter, attribute
hashing, aggregation under a lock); a governed unit makes five. The call path instead
appends ``(instrument, value, labels, context)`` to a :class:`MetricBatch` (well under
a microsecond) and the batch is recorded into the SDK instruments

- when any metric reader collects (periodic export, a Prometheus scrape,
  ``InMemoryMetricReader.get_metrics_data()``, shutdown): an observable instrument's
  callback drains the batch first, so every collection includes every record made
  before it;
- by a background thread once :attr:`MetricBatch.WAKE_AT` records are waiting (a
  busy service between two collections: the calls only append);
- on the call that fills it to :attr:`MetricBatch.LIMIT`, should the background thread
  fall behind (the queue stays bounded).

Histogram values are recorded one by one in a context holding the span context of
the unit they measure (or the one current at the call; the context, not the span:
nothing of the unit outlives its export), so trace-based exemplars link a bucket to
the unit's trace; counter increments with the
same instrument and label set are summed first (one SDK record per label set per
collection: less work overall, at the cost of counter exemplars). A forked child drops
its parent's queue (those records belong to the parent).

    batch = MetricBatch(meter)
    cost = BatchedCounter(meter.create_counter("genops.cost"), batch)
    cost.add(0.0012, labels)          # queued
    reader.get_metrics_data()         # recorded, then collected
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation
from opentelemetry.trace import NonRecordingSpan, SpanContext

#: the batches to empty in a forked child
_batches: weakref.WeakSet[MetricBatch] = weakref.WeakSet()

_Record = tuple[Callable[..., None], float, Mapping[str, Any], SpanContext | None, bool]

#: the context a value is recorded in when no sampled span was current at the call
#: (an explicit context without a valid span: the SDK would take the flushing thread's)
_NO_SPAN: Context = trace.set_span_in_context(trace.INVALID_SPAN, Context())


class MetricBatch:
    """The queue of pending metric records of one runtime (thread-safe: a deque)."""

    #: records waiting that wake the background recorder
    WAKE_AT = 512
    #: records held at most; the call that reaches it records the batch itself
    LIMIT = 8192

    def __init__(self, meter: Meter) -> None:
        self._pending: deque[_Record] = deque()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._worker: threading.Thread | None = None
        # Collected like any observable instrument: its callback records the queue and
        # reports nothing (an instrument without points is not exported).
        meter.create_observable_gauge(
            "genops.internal.metric_batch",
            callbacks=[self._on_collect],
            description="genops internal: records queued metric records at collection.",
        )
        _batches.add(self)

    def put(
        self,
        record: Callable[..., None],
        value: float,
        labels: Mapping[str, Any],
        span_context: SpanContext | None = None,
    ) -> None:
        """Queue one histogram record; its exemplar (when sampled) is ``span_context``,
        by default the span current at the call."""
        pending = self._pending
        if span_context is None:
            span_context = trace.get_current_span().get_span_context()
        pending.append((record, value, labels, span_context, False))
        if len(pending) >= self.WAKE_AT:
            self._full()

    def put_sum(self, add: Callable[..., None], value: float, labels: Mapping[str, Any]) -> None:
        """Queue one counter increment (summed with others of the same label set)."""
        pending = self._pending
        pending.append((add, value, labels, None, True))
        if len(pending) >= self.WAKE_AT:
            self._full()

    def _full(self) -> None:
        if len(self._pending) >= self.LIMIT:  # the recorder fell behind: record here
            self.flush()
            return
        worker = self._worker
        if worker is None or not worker.is_alive():
            with self._lock:
                if self._worker is None or not self._worker.is_alive():
                    self._worker = threading.Thread(
                        target=_record_when_woken,
                        args=(weakref.ref(self), self._wanted),
                        name="genops-metric-batch",
                        daemon=True,
                    )
                    self._worker.start()
        self._wanted.set()

    def flush(self) -> None:
        """Record every queued value into its SDK instrument (in queue order)."""
        pending = self._pending
        with self._lock:  # one drain at a time; appends go on meanwhile
            sums: dict[tuple[int, int], list[Any]] = {}
            contexts: dict[tuple[int, int], Context] = {}
            while True:
                try:
                    fn, value, labels, span_context, summed = pending.popleft()
                except IndexError:
                    break
                if summed:
                    key = (id(fn), id(labels))
                    found = sums.get(key)
                    if found is None:
                        sums[key] = [fn, labels, value]
                    else:
                        found[2] += value
                elif span_context is None or not span_context.trace_flags.sampled:
                    fn(value, labels, _NO_SPAN)
                else:
                    ids = (span_context.trace_id, span_context.span_id)
                    ctx = contexts.get(ids)
                    if ctx is None:
                        span = NonRecordingSpan(span_context)
                        ctx = contexts[ids] = trace.set_span_in_context(span, _NO_SPAN)
                    fn(value, labels, ctx)
            for fn, labels, total in sums.values():
                fn(total, labels, _NO_SPAN)

    def clear(self) -> None:
        """Drop every queued record (a forked child: they are its parent's)."""
        self._pending.clear()
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._worker = None

    def __len__(self) -> int:
        return len(self._pending)

    def _on_collect(self, options: CallbackOptions) -> Iterable[Observation]:
        self.flush()
        return ()


class BatchedHistogram:
    """A histogram whose ``record`` queues into a :class:`MetricBatch`."""

    __slots__ = ("_batch", "_record", "instrument")

    def __init__(self, instrument: Histogram, batch: MetricBatch) -> None:
        self.instrument = instrument
        self._record = instrument.record
        self._batch = batch

    def record(
        self,
        amount: float,
        attributes: Mapping[str, Any],
        span_context: SpanContext | None = None,
    ) -> None:
        """Queue ``amount``; ``span_context``: the exemplar's span (default: current)."""
        self._batch.put(self._record, amount, attributes, span_context)


class BatchedCounter:
    """A counter whose ``add`` queues into a :class:`MetricBatch`."""

    __slots__ = ("_add", "_batch", "instrument")

    def __init__(self, instrument: Counter, batch: MetricBatch) -> None:
        self.instrument = instrument
        self._add = instrument.add
        self._batch = batch

    def add(self, amount: float, attributes: Mapping[str, Any]) -> None:
        self._batch.put_sum(self._add, amount, attributes)


def _record_when_woken(ref: weakref.ref[MetricBatch], wanted: threading.Event) -> None:
    """The background recorder: flush whenever woken, until the batch is gone."""
    while True:
        wanted.wait(timeout=60.0)
        wanted.clear()
        batch = ref()
        if batch is None:
            return
        try:
            batch.flush()
        except Exception as exc:  # counted and logged once; the next wake starts anew
            from genops import _safety

            _safety.report(exc, "batched metrics")
        del batch


def _clear_after_fork() -> None:
    for batch in list(_batches):
        batch.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_clear_after_fork)
