"""The OTLP collector is down, then back (a real OTLP/HTTP receiver on loopback, a
fresh interpreter with the standard ``OTEL_*`` variables): every span produced while
it was down is delivered once it is back; with the collector down for good, memory
stays bounded (the batch queue drops, it does not grow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genops import attributes as A
from tests.reliability.otlp import Collector

SCRIPT = textwrap.dedent(
    """
    import json, socket, sys, threading
    import genops

    failed = threading.Event()  # a connection to the collector was refused
    real_connect = socket.socket.connect
    def connect(self, address):
        try:
            return real_connect(self, address)
        except OSError:
            failed.set()
            raise
    socket.socket.connect = connect

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    def produce(n, start):
        for i in range(start, start + n):
            with genops.governed("reply", provider="openai", model="acme-1") as unit:
                unit.record_usage(input_tokens=10, output_tokens=5)

    genops.init(service_name="t", team="a", project="p", instrument=False,
                prices=[{"provider": "openai", "model": "acme-*", "input": 1, "output": 1}])
    spans, mode = int(sys.argv[1]), sys.argv[2]
    # genai-prices loads on a background thread (~30 MB, 0.5 s without bytecode): wait
    # for it, or it lands between the two samples on a slow first run
    assert genops.get_runtime().prices.lookup("openai", "gpt-4o-mini") is not None
    produce(spans, 0)
    first = rss_mb()
    if mode == "bounded":
        produce(spans * 4, spans)
    assert failed.wait(60), "no export was attempted"  # it was tried while down
    print(json.dumps({"produced": spans, "rss_first": first, "rss_last": rss_mb()}), flush=True)
    sys.stdin.readline()  # the test brings the collector back, then says go
    genops.shutdown()
    """
)


def start(collector: Collector, spans: int, mode: str, tmp_path: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_METRICS_EXPORTER="none",
        GENOPS_LOCAL_STORE=str(tmp_path / "spend.db"),
    )
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(spans), mode],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_spans_produced_while_the_collector_is_down_are_delivered_when_it_is_back(
    tmp_path: Path,
) -> None:
    collector = Collector()  # not started yet: the port refuses connections
    proc = start(collector, 300, "deliver", tmp_path)
    assert proc.stdout is not None and proc.stdin is not None
    report = json.loads(proc.stdout.readline())  # produced while down; exports failing
    collector.start()
    try:
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _, stderr = proc.communicate(timeout=120)
    finally:
        collector.stop()
    assert proc.returncode == 0, stderr
    spans = collector.spans()
    assert report["produced"] == 300
    assert len(spans) == 300  # none lost, none twice
    assert len({bytes(s.span_id) for s in spans}) == 300
    assert all({kv.key: kv.value.string_value for kv in s.attributes}[A.TEAM] == "a" for s in spans)


@pytest.mark.heavy
def test_memory_stays_bounded_while_the_collector_stays_down(tmp_path: Path) -> None:
    collector = Collector()  # never started
    proc = start(collector, 5_000, "bounded", tmp_path)
    assert proc.stdout is not None and proc.stdin is not None
    report = json.loads(proc.stdout.readline())
    proc.stdin.write("go\n")
    proc.stdin.flush()
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    # 20,000 more spans after the first 5,000 grew the process by less than 50 MB:
    # the batch queue (2,048 spans) drops, nothing accumulates per span
    assert report["rss_last"] - report["rss_first"] < 50, report
