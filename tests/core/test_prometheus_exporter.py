"""The Prometheus scrape endpoint, from ``init(metrics_exporter=...)`` and from the
standard ``OTEL_METRICS_EXPORTER=prometheus`` (in a subprocess: providers are global)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest

from genops import _prometheus
from tests.apps import app_env

# the `genops-core[prometheus]` extra (the nox `core` session installs core alone)
pytest.importorskip("opentelemetry.exporter.prometheus", reason="genops-core[prometheus] absent")

APP = """
    import os, socket, urllib.request
    import genops
    genops.init(service_name="scraped", team="search", project="web", instrument=False{ARGS})
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1000, output_tokens=100)
    port = int(os.environ["PORT"])
    print(urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode())
    genops.shutdown()
    with socket.socket() as s:  # the endpoint is closed by shutdown
        print("closed" if s.connect_ex(("127.0.0.1", port)) else "still open")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APP).replace("{ARGS}", args)],
        env=app_env(OTEL_TRACES_EXPORTER="none", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_scraped(text: str) -> None:
    cost = [line for line in text.splitlines() if line.startswith("genops_cost_USD_total{")]
    assert len(cost) == 1 and 'genops_team="search"' in cost[0]
    assert float(cost[0].rsplit(" ", 1)[1]) == pytest.approx((150 + 60) / 1e6)
    assert "gen_ai_client_operation_duration_seconds_bucket{" in text
    assert text.rstrip().endswith("closed")


def test_init_metrics_exporter_prometheus_serves_a_scrape_endpoint():
    port = free_port()
    out = run(
        f', metrics_exporter="prometheus", prometheus_host="127.0.0.1", prometheus_port={port}',
        {"PORT": str(port)},
    )
    assert_scraped(out)


def test_standard_env_selects_prometheus():
    port = free_port()
    out = run(
        "",
        {
            "PORT": str(port),
            "OTEL_METRICS_EXPORTER": "prometheus",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        },
    )
    assert_scraped(out)


def test_endpoint_defaults_and_errors(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_PROMETHEUS_HOST", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_PROMETHEUS_PORT", raising=False)
    assert _prometheus.endpoint(None, None) == ("localhost", 9464)
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "x")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_PROMETHEUS_PORT"):
        _prometheus.endpoint(None, None)
    with pytest.raises(ValueError, match="prometheus_port"):
        _prometheus.endpoint(None, 70000)


def test_meter_provider_and_metrics_exporter_conflict(telemetry):
    import genops

    with pytest.raises(ValueError, match="either meter_provider or metrics_exporter"):
        genops.init(meter_provider=telemetry.meter_provider, metrics_exporter="prometheus")
