"""The Prometheus scrape endpoint (``metrics_exporter="prometheus"``).

A :class:`PrometheusMetricReader` from ``opentelemetry-exporter-prometheus`` plus the
``prometheus_client`` HTTP server that serves it, started when the meter provider is
built and stopped when genops shuts it down. Host and port: ``init(prometheus_host=,
prometheus_port=)``, else ``OTEL_EXPORTER_PROMETHEUS_HOST`` / ``OTEL_EXPORTER_PROMETHEUS_PORT``,
else ``localhost:9464`` (the OpenTelemetry defaults).
"""

from __future__ import annotations

import os
from typing import Any

from genops import attributes as A

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 9464

_MISSING = (
    "metrics_exporter='prometheus' needs opentelemetry-exporter-prometheus: "
    "pip install 'genops-core[prometheus]'"
)


def endpoint(host: str | None, port: int | None) -> tuple[str, int]:
    """The (host, port) to bind: arguments, then the standard env vars, then the defaults."""
    host = host or os.environ.get(A.ENV_PROMETHEUS_HOST) or DEFAULT_HOST
    if port is None:
        raw = os.environ.get(A.ENV_PROMETHEUS_PORT)
        try:
            port = int(raw) if raw else DEFAULT_PORT
        except ValueError:
            raise ValueError(
                f"{A.ENV_PROMETHEUS_PORT} must be a port number, got {raw!r}"
            ) from None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"prometheus_port must be an int in 0..65535, got {port!r}")
    return host, port


def serving_reader(host: str | None = None, port: int | None = None) -> Any:
    """A metric reader whose HTTP endpoint serves ``/metrics`` until the reader shuts down.

    ``port=0`` binds a free port; the bound one is ``reader.port``.
    """
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_MISSING) from exc

    bind_host, bind_port = endpoint(host, port)

    class ServingPrometheusReader(PrometheusMetricReader):
        """PrometheusMetricReader that owns its scrape server."""

        def __init__(self) -> None:
            super().__init__()
            try:
                server, _thread = start_http_server(bind_port, addr=bind_host)
            except Exception:
                super().shutdown()
                raise
            self._server = server
            self.host = bind_host
            self.port: int = server.server_port

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            try:
                super().shutdown(timeout_millis, **kwargs)
            finally:
                self._server.shutdown()
                self._server.server_close()

    return ServingPrometheusReader()
