"""genops.init / shutdown: providers from OTEL_* env vars, env defaults, reconfiguration."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import genops
from genops import attributes as A
from genops import integrations


def test_env_vars_supply_defaults(telemetry, make_genops, monkeypatch):
    monkeypatch.setenv("GENOPS_TEAM", "env-team")
    monkeypatch.setenv("GENOPS_PROJECT", "env-project")
    monkeypatch.setenv("GENOPS_ENVIRONMENT", "staging")
    rt = make_genops(team=None, project=None)
    assert rt.environment == "staging"
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1, output_tokens=1)
    attrs = telemetry.span("chat gpt-4o-mini").attributes
    assert (attrs[A.TEAM], attrs[A.PROJECT], attrs[A.ENVIRONMENT]) == (
        "env-team",
        "env-project",
        "staging",
    )


def test_second_init_reconfigures(telemetry, make_genops, caplog):
    first = make_genops(team="a")
    with caplog.at_level("INFO", logger="genops"):
        second = make_genops(team="b")
    assert "reconfiguring" in caplog.text
    assert genops.get_runtime() is second is not first
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=1, output_tokens=1)
    assert telemetry.span("chat gpt-4o-mini").attributes[A.TEAM] == "b"


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"service_name": ""}, ValueError, "service_name"),
        ({"team": "  "}, ValueError, "team"),
        ({"capture_content": 3}, TypeError, "capture_content"),
        ({"capture_content": "sometimes"}, ValueError, "capture_content"),
        ({"metric_label_limit": 0}, ValueError, "metric_label_limit"),
        ({"metric_label_overflow": ""}, ValueError, "metric_label_overflow"),
        ({"metrics_exporter": "statsd"}, ValueError, "unsupported exporter 'statsd'"),
        ({"default_max_output_tokens": -5}, ValueError, "default_max_output_tokens"),
    ],
)
def test_init_rejects_bad_arguments_by_name(make_genops, kwargs, error, name):
    with pytest.raises(error, match=name):
        make_genops(**kwargs)


def test_installed_integrations_are_discovered_by_entry_point():
    expected = set()
    if importlib.util.find_spec("genops_native"):
        expected |= {"openai", "anthropic"}
    if importlib.util.find_spec("genops_langchain"):
        expected.add("langchain")
    if importlib.util.find_spec("genops_llamaindex"):
        expected.add("llamaindex")
    assert expected <= set(integrations.available())


def test_instrument_names_enable_only_those(make_genops):
    rt = make_genops(instrument=["no-such-integration"])
    assert rt.integrations == []


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


APP = """
    import genops
    genops.init(service_name="env-built", team="t", project="p", instrument=False)
    with genops.governed("op", provider="openai", model="gpt-4o-mini") as unit:
        unit.record_usage(input_tokens=10, output_tokens=5)
    genops.shutdown()
"""


def test_providers_built_from_standard_env_console_exporter():
    result = _run(APP, {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none"})
    assert result.returncode == 0, result.stderr
    assert '"name": "chat gpt-4o-mini"' in result.stdout
    assert '"service.name": "env-built"' in result.stdout
    assert '"genops.spec.version": "0.1.0"' in result.stdout


class _OtlpReceiver(BaseHTTPRequestHandler):
    received: list[ExportTraceServiceRequest] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.received.append(request)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_providers_built_from_standard_env_export_real_otlp_http():
    server = HTTPServer(("127.0.0.1", 0), _OtlpReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _OtlpReceiver.received = []
    try:
        result = _run(
            APP,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            },
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    spans = [
        span
        for req in _OtlpReceiver.received
        for rs in req.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]
    attrs = {kv.key: kv.value for kv in spans[0].attributes}
    assert attrs[A.TEAM].string_value == "t"
    assert attrs[A.ACCOUNTING_ACTUAL].double_value == pytest.approx((1.5 + 3) / 1e6)
