"""OpenTelemetry plumbing: providers from the standard ``OTEL_*`` variables, and instruments.

Provider choice in :func:`genops.init`: the providers passed in, else the global ones
when an SDK provider is installed, else new SDK providers built here from the
standard environment (``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``:
``otlp``, ``console`` or ``none``, and for metrics ``prometheus`` (a scrape
endpoint, see :mod:`genops._prometheus`); ``OTEL_EXPORTER_OTLP_PROTOCOL``:
``http/protobuf`` (default) or ``grpc``; endpoints and headers as the OTLP
exporters read them), with a ``BatchSpanProcessor`` — and installed as the globals.
With nothing configured, traces go to the local spend store and no network
connection is opened (:mod:`genops.destinations`). Providers built here do not
register the SDK's unbounded exit hook: :func:`genops.shutdown` bounds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import (
    CallbackOptions,
    Counter,
    Meter,
    MeterProvider,
    ObservableGauge,
    Observation,
)
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import Tracer, TracerProvider

from genops import attributes as A
from genops._metric_batch import BatchedCounter, BatchedHistogram, MetricBatch
from genops._version import __version__
from genops.destinations import Reporting, exporter_names, local_store_path

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

#: OTEL_METRICS_EXPORTER / init(metrics_exporter=...) values genops builds readers for.
METRICS_EXPORTERS = ("otlp", "prometheus", "console", "none")


def _protocol(kind: str) -> str:
    return os.environ.get(
        f"OTEL_EXPORTER_OTLP_{kind}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ).lower()


def build_tracer_provider(
    service_name: str,
    environment: str,
    *,
    exporter: str | None = None,
    local_store: SpanProcessor | None = None,
) -> TracerProvider:
    """An SDK tracer provider configured from the standard OTel environment variables
    (``exporter`` overrides ``OTEL_TRACES_EXPORTER``), with the ``local_store`` processor."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    resource = Resource.create(
        {"service.name": service_name, "deployment.environment.name": environment}
    )
    provider = SdkTracerProvider(resource=resource, shutdown_on_exit=False)
    if local_store is not None:
        provider.add_span_processor(local_store)
    for name in exporter_names("TRACES", exporter):
        span_exporter: SpanExporter
        if name == "console":
            span_exporter = ConsoleSpanExporter()
        elif name == "otlp":
            if _protocol("TRACES") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                    OTLPSpanExporter,
                )
            span_exporter = Reporting(OTLPSpanExporter())  # type: ignore[assignment]
        else:
            raise ValueError(
                f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (otlp, console, none)"
            )
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    return provider


def build_meter_provider(
    service_name: str,
    environment: str,
    *,
    exporter: str | None = None,
    exporters: list[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
) -> MeterProvider:
    """An SDK meter provider configured from the standard OTel environment variables
    (``exporters`` given: those instead of ``OTEL_METRICS_EXPORTER``; ``exporter``
    overrides it for genops' own providers)."""
    from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        MetricReader,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create(
        {"service.name": service_name, "deployment.environment.name": environment}
    )
    readers: list[MetricReader] = []
    for name in exporters if exporters is not None else exporter_names("METRICS", exporter):
        metric_exporter: MetricExporter
        if name == "none":
            continue
        if name == "prometheus":
            from genops._prometheus import serving_reader

            readers.append(serving_reader(prometheus_host, prometheus_port))
            continue
        if name == "console":
            metric_exporter = ConsoleMetricExporter()
        elif name == "otlp":
            if _protocol("METRICS") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                    OTLPMetricExporter,
                )
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                    OTLPMetricExporter,
                )
            metric_exporter = Reporting(OTLPMetricExporter())  # type: ignore[assignment]
        else:
            raise ValueError(
                f"OTEL_METRICS_EXPORTER: unsupported exporter {name!r} "
                "(otlp, prometheus, console, none)"
            )
        readers.append(PeriodicExportingMetricReader(metric_exporter))
    return SdkMeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)


def _is_sdk(provider: Any) -> bool:
    return type(provider).__module__.startswith("opentelemetry.sdk")


def resolve_providers(
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    *,
    service_name: str,
    environment: str,
    metrics_exporters: list[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    exporter: str | None = None,
    local_store: bool | str | Path | None = None,
) -> tuple[TracerProvider, MeterProvider, list[Any], SpanProcessor | None]:
    """Pick or build the providers; returns those built here (genops owns their shutdown)
    and the local store's span processor, if any.

    ``metrics_exporters`` (from ``init(metrics_exporter=...)``) always builds a meter
    provider, even when a global SDK one is installed.
    """
    owned: list[Any] = []
    store: SpanProcessor | None = None
    if tracer_provider is not None and local_store not in (None, False):
        store = add_store(tracer_provider, local_store)
    if tracer_provider is None:
        current = trace.get_tracer_provider()
        if _is_sdk(current):
            tracer_provider = current
        else:
            names = exporter_names("TRACES", exporter)
            path = local_store_path(local_store, network_traces="otlp" in names)
            store = _store_processor(path) if path is not None else None
            tracer_provider = build_tracer_provider(
                service_name, environment, exporter=exporter, local_store=store
            )
            trace.set_tracer_provider(tracer_provider)
            owned.append(tracer_provider)
    if meter_provider is None:
        current_m = metrics.get_meter_provider()
        if _is_sdk(current_m) and metrics_exporters is None:
            meter_provider = current_m
        else:
            meter_provider = build_meter_provider(
                service_name,
                environment,
                exporter=exporter,
                exporters=metrics_exporters,
                prometheus_host=prometheus_host,
                prometheus_port=prometheus_port,
            )
            if not _is_sdk(current_m):
                metrics.set_meter_provider(meter_provider)
            owned.append(meter_provider)
    return tracer_provider, meter_provider, owned, store


def _store_processor(path: Path) -> SpanProcessor:
    from genops.store.exporter import store_processor  # sqlite3: only with a local store

    return store_processor(path)


def add_store(
    tracer_provider: TracerProvider, local_store: bool | str | Path
) -> SpanProcessor | None:
    """Keep the local store beside the caller's own pipeline (``init(local_store=...)``)."""
    path = local_store_path(local_store, network_traces=False)
    add = getattr(tracer_provider, "add_span_processor", None)
    if path is None or not callable(add):
        return None
    processor = _store_processor(path)
    add(processor)
    return processor


def _duration_histogram(
    meter: Meter, batch: MetricBatch, name: str, description: str
) -> BatchedHistogram:
    histogram = meter.create_histogram(
        name,
        unit="s",
        description=description,
        explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
    )
    return BatchedHistogram(histogram, batch)


def _token_histogram(
    meter: Meter, batch: MetricBatch, name: str, description: str
) -> BatchedHistogram:
    histogram = meter.create_histogram(
        name,
        unit="{token}",
        description=description,
        explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS),
    )
    return BatchedHistogram(histogram, batch)


def _counter(
    meter: Meter, batch: MetricBatch, name: str, unit: str, description: str
) -> BatchedCounter:
    return BatchedCounter(meter.create_counter(name, unit=unit, description=description), batch)


@dataclass(slots=True)
class LatestInstruments:
    """The newest GenAI metrics (``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``)."""

    inference_duration: BatchedHistogram
    time_to_first_chunk: BatchedHistogram
    usage: dict[str, BatchedCounter]  #: usage field (input, output, cache_read, ...) → counter
    operation_input: BatchedHistogram
    operation_output: BatchedHistogram
    invoke_agent_duration: BatchedHistogram
    execute_tool_duration: BatchedHistogram
    invoke_workflow_duration: BatchedHistogram

    @classmethod
    def create(cls, meter: Meter, batch: MetricBatch) -> LatestInstruments:
        counters = {
            "input": (A.METRIC_INFERENCE_USAGE_INPUT, "input (prompt) tokens, cached included"),
            "output": (A.METRIC_INFERENCE_USAGE_OUTPUT, "output tokens, reasoning included"),
            "cache_read": (A.METRIC_INFERENCE_USAGE_CACHE_READ, "input tokens read from cache"),
            "cache_write": (A.METRIC_INFERENCE_USAGE_CACHE_WRITE, "input tokens written to cache"),
            "reasoning": (A.METRIC_INFERENCE_USAGE_REASONING, "output tokens used for reasoning"),
        }
        return cls(
            inference_duration=_duration_histogram(
                meter, batch, A.METRIC_INFERENCE_DURATION, "GenAI inference operation duration."
            ),
            time_to_first_chunk=_duration_histogram(
                meter,
                batch,
                A.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk of a streaming response.",
            ),
            usage={
                key: _counter(meter, batch, name, "{token}", f"Number of {text}.")
                for key, (name, text) in counters.items()
            },
            operation_input=_token_histogram(
                meter,
                batch,
                A.METRIC_INFERENCE_OPERATION_INPUT,
                "Input tokens per inference operation.",
            ),
            operation_output=_token_histogram(
                meter,
                batch,
                A.METRIC_INFERENCE_OPERATION_OUTPUT,
                "Output tokens per inference operation.",
            ),
            invoke_agent_duration=_duration_histogram(
                meter, batch, A.METRIC_INVOKE_AGENT_DURATION, "Duration of one agent invocation."
            ),
            execute_tool_duration=_duration_histogram(
                meter, batch, A.METRIC_EXECUTE_TOOL_DURATION, "Duration of one tool execution."
            ),
            invoke_workflow_duration=_duration_histogram(
                meter,
                batch,
                A.METRIC_INVOKE_WORKFLOW_DURATION,
                "Duration of one workflow invocation.",
            ),
        )


class BudgetValues:
    """The latest consumed / remaining / utilization of each budget instance, read by
    the ``genops.budget.*`` observable gauges at collection time.

    A unit stores its budgets' values here (one dict write per budget, no metric record
    on the call path); each collection reports the last value of every instance — what
    a last-value gauge exports. Keyed by the guarded label set, so it is bounded like
    the labels are.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[Any, tuple[dict[str, Any], tuple[float, float, float | None]]] = {}

    def set(
        self, key: Any, labels: dict[str, Any], values: tuple[float, float, float | None]
    ) -> None:
        self._values[key] = (labels, values)

    def observe(self, index: int) -> list[Observation]:
        """Observations of value ``index`` (0 consumed, 1 remaining, 2 utilization)."""
        return [
            Observation(value, labels)
            for labels, values in self._values.copy().values()
            if (value := values[index]) is not None
        ]

    def callback(self, index: int) -> Any:
        def observe(options: CallbackOptions) -> list[Observation]:
            return self.observe(index)

        return observe


@dataclass(slots=True)
class Instruments:
    """Every instrument genops records to, created once per runtime.

    The call-path instruments are batched (:mod:`genops._metric_batch`): a record
    queues, and the queue is recorded into the SDK when a reader collects.
    """

    tracer: Tracer
    token_usage: BatchedHistogram
    duration: BatchedHistogram
    time_to_first_chunk: BatchedHistogram
    cost: BatchedCounter
    cost_unknown: BatchedCounter
    decisions: BatchedCounter
    budget_alerts: BatchedCounter
    internal_errors: Counter
    budget_consumed: ObservableGauge
    budget_remaining: ObservableGauge
    budget_utilization: ObservableGauge
    #: what the three budget gauges report (written by units, read at collection)
    budget_values: BudgetValues
    label_overflow: Counter
    #: the queue of the batched instruments' records
    batch: MetricBatch
    #: set when the newest GenAI names are opted in (they replace the v1.41 ones)
    latest: LatestInstruments | None = None

    @classmethod
    def create(
        cls, tracer_provider: TracerProvider, meter_provider: MeterProvider, *, latest: bool = False
    ) -> Instruments:
        tracer = tracer_provider.get_tracer("genops", __version__, schema_url=SCHEMA_URL)
        meter = meter_provider.get_meter("genops", __version__, schema_url=SCHEMA_URL)
        budget_values = BudgetValues()
        batch = MetricBatch(meter)
        return cls(
            tracer=tracer,
            token_usage=_token_histogram(
                meter, batch, A.METRIC_TOKEN_USAGE, "Number of input and output tokens used."
            ),
            duration=_duration_histogram(
                meter, batch, A.METRIC_OPERATION_DURATION, "GenAI operation duration."
            ),
            time_to_first_chunk=_duration_histogram(
                meter,
                batch,
                A.METRIC_TIME_TO_FIRST_CHUNK,
                "Time to receive the first chunk of a streaming response.",
            ),
            cost=_counter(
                meter, batch, A.METRIC_COST, "USD", "Cost of AI workload units, in US dollars."
            ),
            cost_unknown=_counter(
                meter,
                batch,
                A.METRIC_COST_UNKNOWN,
                "{unit}",
                "AI workload units whose cost is unknown (no price for the model).",
            ),
            decisions=_counter(
                meter,
                batch,
                A.METRIC_POLICY_DECISIONS,
                "{decision}",
                "Policy decisions by result and reason code.",
            ),
            budget_alerts=_counter(
                meter, batch, A.METRIC_BUDGET_ALERTS, "{alert}", "Budget alert thresholds crossed."
            ),
            internal_errors=meter.create_counter(
                A.METRIC_INTERNAL_ERRORS,
                unit="{error}",
                description="Errors inside genops instrumentation (caught; the app went on).",
            ),
            budget_consumed=meter.create_observable_gauge(
                A.METRIC_BUDGET_CONSUMED,
                callbacks=[budget_values.callback(0)],
                description="Amount consumed in the current window, per budget instance.",
            ),
            budget_remaining=meter.create_observable_gauge(
                A.METRIC_BUDGET_REMAINING,
                callbacks=[budget_values.callback(1)],
                description="Amount left in the current window (reservations held), per budget.",
            ),
            budget_utilization=meter.create_observable_gauge(
                A.METRIC_BUDGET_UTILIZATION,
                callbacks=[budget_values.callback(2)],
                unit="1",
                description="Consumed / allocated in the current window, per budget instance.",
            ),
            budget_values=budget_values,
            label_overflow=meter.create_counter(
                A.METRIC_LABEL_OVERFLOW,
                unit="{value}",
                description="Metric label values collapsed into the overflow value.",
            ),
            batch=batch,
            latest=LatestInstruments.create(meter, batch) if latest else None,
        )
