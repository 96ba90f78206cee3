"""OpenTelemetry plumbing: providers from the standard ``OTEL_*`` variables, and instruments.

Provider choice in :func:`genops.init`: the providers passed in, else the global ones
when an SDK provider is installed, else new SDK providers built here from the
standard environment (``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``:
``otlp`` (default), ``console`` or ``none``; ``OTEL_EXPORTER_OTLP_PROTOCOL``:
``http/protobuf`` (default) or ``grpc``; endpoints and headers as the OTLP
exporters read them), with a ``BatchSpanProcessor`` — and installed as the globals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, Histogram, MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from genops import attributes as A
from genops._version import __version__

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


def _exporter_names(kind: str) -> list[str]:
    raw = os.environ.get(f"OTEL_{kind}_EXPORTER", "otlp")
    return [n.strip().lower() for n in raw.split(",") if n.strip()]


def _protocol(kind: str) -> str:
    return os.environ.get(
        f"OTEL_EXPORTER_OTLP_{kind}_PROTOCOL",
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ).lower()


def build_tracer_provider(service_name: str, environment: str) -> TracerProvider:
    """An SDK tracer provider configured from the standard OTel environment variables."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    resource = Resource.create(
        {"service.name": service_name, "deployment.environment.name": environment}
    )
    provider = SdkTracerProvider(resource=resource)
    for name in _exporter_names("TRACES"):
        exporter: SpanExporter
        if name == "none":
            continue
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            if _protocol("TRACES") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
            else:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                    OTLPSpanExporter,
                )
            exporter = OTLPSpanExporter()
        else:
            raise ValueError(
                f"OTEL_TRACES_EXPORTER: unsupported exporter {name!r} (otlp, console, none)"
            )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def build_meter_provider(service_name: str, environment: str) -> MeterProvider:
    """An SDK meter provider configured from the standard OTel environment variables."""
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
    for name in _exporter_names("METRICS"):
        exporter: MetricExporter
        if name == "none":
            continue
        if name == "console":
            exporter = ConsoleMetricExporter()
        elif name == "otlp":
            if _protocol("METRICS") == "grpc":
                from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                    OTLPMetricExporter,
                )
            else:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                    OTLPMetricExporter,
                )
            exporter = OTLPMetricExporter()
        else:
            raise ValueError(
                f"OTEL_METRICS_EXPORTER: unsupported exporter {name!r} (otlp, console, none)"
            )
        readers.append(PeriodicExportingMetricReader(exporter))
    return SdkMeterProvider(resource=resource, metric_readers=readers)


def _is_sdk(provider: Any) -> bool:
    return type(provider).__module__.startswith("opentelemetry.sdk")


def resolve_providers(
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    *,
    service_name: str,
    environment: str,
) -> tuple[TracerProvider, MeterProvider, list[Any]]:
    """Pick or build the providers; returns those built here (genops owns their shutdown)."""
    owned: list[Any] = []
    if tracer_provider is None:
        current = trace.get_tracer_provider()
        if _is_sdk(current):
            tracer_provider = current
        else:
            tracer_provider = build_tracer_provider(service_name, environment)
            trace.set_tracer_provider(tracer_provider)
            owned.append(tracer_provider)
    if meter_provider is None:
        current_m = metrics.get_meter_provider()
        if _is_sdk(current_m):
            meter_provider = current_m
        else:
            meter_provider = build_meter_provider(service_name, environment)
            metrics.set_meter_provider(meter_provider)
            owned.append(meter_provider)
    return tracer_provider, meter_provider, owned


@dataclass(slots=True)
class Instruments:
    """Every instrument genops records to, created once per runtime."""

    tracer: Tracer
    token_usage: Histogram
    duration: Histogram
    time_to_first_chunk: Histogram
    cost: Counter
    cost_unknown: Counter
    decisions: Counter
    budget_alerts: Counter
    internal_errors: Counter

    @classmethod
    def create(cls, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> Instruments:
        tracer = tracer_provider.get_tracer("genops", __version__, schema_url=SCHEMA_URL)
        meter = meter_provider.get_meter("genops", __version__, schema_url=SCHEMA_URL)
        return cls(
            tracer=tracer,
            token_usage=meter.create_histogram(
                A.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Number of input and output tokens used.",
                explicit_bucket_boundaries_advisory=list(A.TOKEN_USAGE_BUCKETS),
            ),
            duration=meter.create_histogram(
                A.METRIC_OPERATION_DURATION,
                unit="s",
                description="GenAI operation duration.",
                explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
            ),
            time_to_first_chunk=meter.create_histogram(
                A.METRIC_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time to receive the first chunk of a streaming response.",
                explicit_bucket_boundaries_advisory=list(A.DURATION_BUCKETS),
            ),
            cost=meter.create_counter(
                A.METRIC_COST, unit="USD", description="Cost of AI workload units, in US dollars."
            ),
            cost_unknown=meter.create_counter(
                A.METRIC_COST_UNKNOWN,
                unit="{unit}",
                description="AI workload units whose cost is unknown (no price for the model).",
            ),
            decisions=meter.create_counter(
                A.METRIC_POLICY_DECISIONS,
                unit="{decision}",
                description="Policy decisions by result.",
            ),
            budget_alerts=meter.create_counter(
                A.METRIC_BUDGET_ALERTS,
                unit="{alert}",
                description="Budget alert thresholds crossed.",
            ),
            internal_errors=meter.create_counter(
                A.METRIC_INTERNAL_ERRORS,
                unit="{error}",
                description="Errors inside genops instrumentation (caught; the app went on).",
            ),
        )
