"""Shared fixtures: an in-memory OpenTelemetry pipeline and a genops runtime on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import genops
from genops import _safety
from genops import attributes as A


def pytest_configure(config: pytest.Config) -> None:
    """Keep the default local spend store of every test run (and its subprocesses) out
    of the user's home: one fresh file per run."""
    import os
    import tempfile

    os.environ.setdefault(
        "GENOPS_LOCAL_STORE", os.path.join(tempfile.mkdtemp(prefix="genops-tests-"), "spend.db")
    )


class Telemetry:
    """Finished spans and collected metrics of one test."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("tests")

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in self.spans()]}"
        return found[0]

    def metrics(self) -> dict[str, list[Any]]:
        """metric name → its data points (collected now)."""
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    out.setdefault(m.name, []).extend(m.data.data_points)
        return out


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """The in-memory pipeline. After the test, every AI Workload Unit span it exported
    (a span with ``genops.spec.version``) must pass the GenOps v0.1 conformance check, and
    every span's optional GenOps / evaluation events their schemas."""
    from tests.spec import assert_compliant, assert_optional_schemas

    t = Telemetry()
    yield t
    for span in t.spans():
        assert_optional_schemas(span)
        if (span.attributes or {}).get(A.SPEC_VERSION) is not None:
            assert_compliant(span)


@pytest.fixture
def make_genops(telemetry: Telemetry) -> Iterator[Callable[..., genops.GenOps]]:
    """``make_genops(**init_kwargs)``: genops.init on the in-memory pipeline, shut down after."""

    def make(**kwargs: Any) -> genops.GenOps:
        kwargs.setdefault("service_name", "tests")
        kwargs.setdefault("team", "platform")
        kwargs.setdefault("project", "genops-tests")
        kwargs.setdefault("instrument", False)
        return genops.init(
            tracer_provider=telemetry.tracer_provider,
            meter_provider=telemetry.meter_provider,
            **kwargs,
        )

    yield make
    genops.shutdown()
    _safety.reset()


@pytest.fixture
def runtime(make_genops: Callable[..., genops.GenOps]) -> genops.GenOps:
    """A genops runtime with default settings on the in-memory pipeline."""
    return make_genops()
