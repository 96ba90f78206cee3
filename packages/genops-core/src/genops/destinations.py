"""Where telemetry goes by default, and exporters that fail quietly and once.

OpenTelemetry's own default is ``OTEL_TRACES_EXPORTER=otlp`` to ``localhost:4318``:
on a laptop without a collector that is retry noise and an exit hang. genops
differs on purpose, and only when *nothing* is configured:

- no ``OTEL_EXPORTER_OTLP_*ENDPOINT`` and no ``OTEL_{TRACES,METRICS}_EXPORTER`` →
  traces go to the local spend store (:mod:`genops.store`), metrics nowhere, and no
  network connection is opened;
- any of them set (or ``init(exporter="otlp")``) → OTLP exactly as the OTel SDK
  would; the local store stays off unless ``init(local_store=True)`` or
  ``GENOPS_LOCAL_STORE=<path>`` keeps it beside.

An exporter that cannot reach its collector is reported in **one** log line; the
OTLP exporters' per-retry warnings for genops-built exporters are suppressed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from genops.attributes import ENV_LOCAL_STORE
from genops.attributes import LOCAL_STORE_OFF as OFF

log = logging.getLogger("genops")
_quiet = threading.local()


def otlp_configured(kind: str) -> bool:
    """True when an OTLP endpoint for ``kind`` (``TRACES`` / ``METRICS``) is set."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{kind}_ENDPOINT")
    )


def exporter_names(kind: str, override: str | None = None) -> list[str]:
    """Exporters for ``kind``: ``override``, else ``OTEL_{kind}_EXPORTER``, else ``otlp``
    when an endpoint is configured, else none (``none`` entries are dropped)."""
    raw = override if override is not None else os.environ.get(f"OTEL_{kind}_EXPORTER")
    if raw is None:
        raw = "otlp" if otlp_configured(kind) else "none"
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    return [n for n in names if n != "none"]


def default_path() -> Path:
    """``$GENOPS_LOCAL_STORE``, else ``$XDG_DATA_HOME/genops/spend.db``
    (``~/.local/share/genops/spend.db``)."""
    configured = os.environ.get(ENV_LOCAL_STORE)
    if configured and configured.lower() not in OFF:
        return Path(configured.removeprefix("sqlite:///")).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "genops" / "spend.db"


def local_store_path(setting: bool | str | Path | None, network_traces: bool) -> Path | None:
    """The store file to write, or ``None``: ``setting`` (True / False / a path), else
    ``$GENOPS_LOCAL_STORE`` (a path or ``off``), else on exactly when traces have no
    network exporter."""
    if setting is False:
        return None
    if isinstance(setting, str | Path):
        return Path(setting)
    env = os.environ.get(ENV_LOCAL_STORE)
    if setting is None and env is not None:
        return None if env.strip().lower() in OFF else default_path()
    if setting is None and network_traces:
        return None
    return default_path()


class _QuietFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_quiet, "on", False)


_FILTER = _QuietFilter()
#: loggers of the exporters genops wraps (a filter only applies where a record is made)
_NOISY = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.metrics._internal.export",
)
for _name in _NOISY:
    logging.getLogger(_name).addFilter(_FILTER)


def _describe(exporter: Any) -> str:
    endpoint = getattr(exporter, "_endpoint", None)
    return f"{type(exporter).__name__} to {endpoint}" if endpoint else type(exporter).__name__


_reported = threading.Event()


class Reporting:
    """Wraps a span or metric exporter: the first failure of any wrapped exporter in the
    process is logged in one line, later ones are counted in :attr:`failures`; the
    wrapped exporter's own retry log lines are suppressed while it exports."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failures = 0
        self.what = _describe(inner)

    def __getattr__(self, name: str) -> Any:  # preferred_temporality etc. of metric exporters
        return getattr(self.inner, name)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        _quiet.on = True
        try:
            result = getattr(self.inner, method)(*args, **kwargs)
        except Exception as exc:
            result = exc
        finally:
            _quiet.on = False
        ok = getattr(result, "name", "") == "SUCCESS" or result is True
        if method == "export" and not ok:
            self.failures += 1
            if not _reported.is_set():
                _reported.set()
                log.warning(
                    "genops: telemetry export failed (%s): collector unreachable? "
                    "Further failures are not logged.",
                    self.what,
                )
            if isinstance(result, Exception):
                return type_failure(self.inner)
        return result

    def export(self, batch: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        return self._call("export", batch, *args, **kwargs)

    def force_flush(self, timeout_millis: int = 30_000) -> Any:
        return self._call("force_flush", timeout_millis)

    def shutdown(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("shutdown", *args, **kwargs)


def type_failure(inner: Any) -> Any:
    """The FAILURE value of the inner exporter's result type."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult
    from opentelemetry.sdk.trace.export import SpanExportResult

    return (
        MetricExportResult.FAILURE
        if isinstance(inner, MetricExporter)
        else SpanExportResult.FAILURE
    )
