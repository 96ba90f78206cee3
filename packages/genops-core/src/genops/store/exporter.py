"""The span exporter that writes governed units to the local spend store.

Used behind a ``BatchSpanProcessor`` (:func:`store_processor`): the per-call hot path
only enqueues the finished span; rows are written in batches on the processor's
thread, the queue is bounded (``max_queue_size``; overflow drops, as the OTel SDK
does for every exporter), and non-unit spans are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from genops.store.db import LocalStore
from genops.store.schema import is_unit, row

log = logging.getLogger("genops.store")


class StoreSpanExporter(SpanExporter):
    """Writes each AI Workload Unit span as one ``units`` row.

    ::

        provider.add_span_processor(BatchSpanProcessor(StoreSpanExporter("spend.db")))
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.store = LocalStore(path)
        self._failed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self.store.write(row(s) for s in spans if is_unit(s))
        except Exception as exc:  # a full disk must not break the app: log once, drop
            if not self._failed:
                self._failed = True
                log.error("genops: cannot write the local store %s: %s", self.store.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.store.close()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def store_processor(path: str | Path | None = None) -> BatchSpanProcessor:
    """A batch processor feeding a :class:`StoreSpanExporter` (1 s schedule, bounded queue)."""
    return BatchSpanProcessor(
        StoreSpanExporter(path), schedule_delay_millis=1000, max_queue_size=8192
    )
