"""Exporter defaults and bounded shutdown, in fresh interpreters (real OTLP exporters)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genops.destinations import exporter_names, local_store_path

SCRIPT = textwrap.dedent(
    """
    import json, logging, socket, sys
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    opened = []
    real_connect = socket.socket.connect
    def connect(self, address):
        opened.append(str(address))
        return real_connect(self, address)
    socket.socket.connect = connect
    import genops
    from genops.audit import AuditLog
    audit = sys.argv[1]
    genops.init(service_name="t", team="a", project="p", instrument=False,
                policy={"version": 1, "audit": {"sink": "jsonl:///" + audit},
                        "policies": [{"name": "m", "type": "allowed_models", "models": ["*"]}]},
                shutdown_timeout=float(sys.argv[2]))
    for _ in range(3):
        with genops.governed("x", provider="openai", model="gpt-4o-mini") as u:
            u.record_usage(input_tokens=10, output_tokens=5)
    if sys.argv[3] == "shutdown":
        genops.shutdown()
    print(json.dumps({"connections": opened}))
    """
)


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env["GENOPS_LOCAL_STORE"] = str(tmp_path / "spend.db")
    return env


def _run(
    env: dict[str, str], tmp_path: Path, timeout: float, how: str
) -> subprocess.CompletedProcess[str]:
    audit = tmp_path / "audit.jsonl"
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, str(audit), str(timeout), how],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_nothing_configured_means_local_store_and_no_network(clean_env, tmp_path):
    done = _run(clean_env, tmp_path, 5, "shutdown")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["connections"] == []
    assert done.stderr == ""
    import sqlite3

    assert sqlite3.connect(tmp_path / "spend.db").execute(
        "SELECT COUNT(*) FROM units"
    ).fetchone() == (3,)
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 3


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.mark.parametrize("how", ["shutdown", "exit"])
@pytest.mark.parametrize("collector", ["closed port", "black hole"])
def test_unreachable_collector_bounded_one_line_durable_state_first(
    clean_env, tmp_path, collector, how
):
    hole = None
    if collector == "black hole":  # accepts connections, never answers
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        port = int(hole.getsockname()[1])
    else:
        port = _closed_port()
    clean_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{port}"
    del clean_env["GENOPS_LOCAL_STORE"]
    clean_env["XDG_DATA_HOME"] = str(tmp_path)
    try:
        done = _run(clean_env, tmp_path, 0.5, how)
    finally:
        if hole is not None:
            hole.close()
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("genops: genops: shutdown stopped waiting after 0.5 s (telemetry")
    # OTLP configured: the store is off by default, the audit trail was flushed first
    assert not (tmp_path / "genops" / "spend.db").exists()
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 3


def test_exporter_choice(monkeypatch):
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "GENOPS_LOCAL_STORE"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    assert exporter_names("TRACES") == []
    assert exporter_names("TRACES", "console,otlp") == ["console", "otlp"]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")
    assert exporter_names("TRACES") == ["otlp"]
    assert exporter_names("METRICS") == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert exporter_names("TRACES") == []
    assert local_store_path(None, network_traces=True) is None
    assert local_store_path(None, network_traces=False) is not None
    assert local_store_path(True, network_traces=True) is not None
    assert local_store_path("x.db", network_traces=True) == Path("x.db")
    monkeypatch.setenv("GENOPS_LOCAL_STORE", "off")
    assert local_store_path(None, network_traces=False) is None


def test_shutdown_timeout_is_validated(make_genops):
    with pytest.raises(ValueError, match="shutdown_timeout must be > 0"):
        make_genops(shutdown_timeout=0)


def test_failing_exports_are_reported_once_in_one_line(clean_env, tmp_path):
    clean_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{_closed_port()}"
    clean_env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "0.2"  # seconds: each export gives up quickly
    script = SCRIPT.replace(
        'if sys.argv[3] == "shutdown":',
        "for _ in range(3):\n"
        "    genops.get_runtime().force_flush(5000)\n"
        'if sys.argv[3] == "shutdown":',
    )
    assert script != SCRIPT
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "audit.jsonl"), "30", "shutdown"],
        env=clean_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "telemetry export failed" in lines[0] and "collector unreachable?" in lines[0]
