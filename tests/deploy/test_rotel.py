"""A real OTLP collector (rotel, from PyPI) on loopback receives genops' traces and
metrics over OTLP gRPC and OTLP HTTP, and forwards them to a loopback OTLP receiver
this test runs; the test asserts on what arrived there.

    app (genops, OTEL_* env) --OTLP grpc|http--> rotel --OTLP http--> receiver (here)
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.apps import app_env
from tests.deploy.prometheus import free_port, wait_for
from tests.paths import REPO

APP = """
    import genops
    genops.init(service_name="via-rotel", environment="production", team="search",
                project="web", prices={PRICES!r}, instrument=False)
    with genops.governed("answer", provider="openai", model="acme-large",
                         request=genops.RequestEstimate(input_tokens=100, max_output_tokens=50)) as unit:
        unit.record_usage(input_tokens=100, output_tokens=50)
    genops.shutdown()
"""
PRICES = [{"provider": "openai", "model": "acme-large", "input": 2000, "output": 8000}]


class Received:
    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.lock = threading.Lock()

    def spans(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(name, attributes, resource attributes) of every span received."""
        with self.lock:
            return [
                (span.name, attributes(span.attributes), attributes(rs.resource.attributes))
                for req in self.traces
                for rs in req.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def points(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return [
                (
                    p.as_double if p.HasField("as_double") else float(p.as_int),
                    attributes(p.attributes),
                )
                for req in self.metrics
                for rm in req.resource_metrics
                for sm in rm.scope_metrics
                for m in sm.metrics
                if m.name == name
                for p in m.sum.data_points
            ]


def attributes(kvs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in kvs:
        field = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, field) if field else None
    return out


@pytest.fixture
def receiver() -> Iterator[tuple[Received, int]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request: Any
            if self.path == "/v1/traces":
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with received.lock:
                    received.traces.append(request)
            elif self.path == "/v1/metrics":
                request = ExportMetricsServiceRequest()
                request.ParseFromString(body)
                with received.lock:
                    received.metrics.append(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received, server.server_port
    server.shutdown()
    server.server_close()


def rotel_binary() -> Path:
    try:
        import rotel
    except ImportError:
        pytest.skip("rotel not installed (PyPI package 'rotel', a dev dependency)")
    path = Path(rotel.__file__).parent / "rotel-agent"
    if not path.exists():
        pytest.skip(f"rotel has no agent binary for this platform ({path})")
    return path


@pytest.fixture
def rotel(tmp_path: Path, receiver: tuple[Received, int]) -> Iterator[dict[str, int]]:
    _, receiver_port = receiver
    ports = {"grpc": free_port(), "http": free_port()}
    log = tmp_path / "rotel.log"
    process = subprocess.Popen(
        [
            str(rotel_binary()),
            "start",
            f"--otlp-grpc-endpoint=127.0.0.1:{ports['grpc']}",
            f"--otlp-http-endpoint=127.0.0.1:{ports['http']}",
            "--exporter=otlp",
            f"--otlp-exporter-endpoint=http://127.0.0.1:{receiver_port}",
            "--otlp-exporter-protocol=http",
            f"--pid-file={tmp_path / 'rotel.pid'}",
            f"--log-file={log}",
            "--batch-timeout=100ms",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: "Starting Rotel" in log.read_text() or process.poll() is not None, "rotel")
        assert process.poll() is None, log.read_text()
        yield ports
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_rotel_receives_governed_spans_and_metrics(rotel, receiver, protocol):
    received, _ = receiver
    port = rotel["grpc" if protocol == "grpc" else "http"]
    env = app_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_PROTOCOL=protocol
    )
    app = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APP).replace("{PRICES!r}", repr(PRICES))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert app.returncode == 0, app.stderr

    spans = wait_for(lambda: received.spans(), "spans through rotel")
    [(name, attrs, resource)] = spans
    assert name == "chat acme-large"
    assert resource["service.name"] == "via-rotel"
    for key, value in {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "acme-large",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 50,
        "genops.team": "search",
        "genops.project": "web",
        "genops.environment": "production",
        "genops.policy.result": "ALLOWED",
        "genops.accounting.unit": "USD",
        "genops.spec.version": "0.1.0",
    }.items():
        assert attrs[key] == value, key
    assert attrs["genops.cost.total"] == pytest.approx(0.6)
    assert attrs["genops.accounting.actual"] == pytest.approx(0.6)

    cost = wait_for(lambda: received.points("genops.cost"), "the cost counter through rotel")
    # cumulative temporality: every export (periodic, then at shutdown) repeats the total
    for value, labels in cost:
        assert value == pytest.approx(0.6)
        assert labels["genops.team"] == "search"
        assert labels["gen_ai.request.model"] == "acme-large"
    decisions = received.points("genops.policy.decisions")
    assert {(v, lb["genops.policy.result"]) for v, lb in decisions} == {(1.0, "ALLOWED")}
