"""Finding 9: a lone surrogate (or control character) in an attribution value is
sanitised once at the edge and logged once — not a traceback per export — and what
reaches a real OTLP collector, the W3C baggage header and the local store is valid
UTF-8."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import genops
from genops import _safety
from genops import attributes as A
from tests.reliability.otlp import Collector

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    import genops
    from opentelemetry import propagate
    genops.init(service_name="t", instrument=False, local_store=sys.argv[1],
                prices=[{"provider": "openai", "model": "acme-*", "input": 1, "output": 1}])
    headers = []
    with genops.attribution(team="sup\\ud800port", customer_id="c\\udfff\\n1"):
        for _ in range(20):
            with genops.governed("reply", provider="openai", model="acme-1") as unit:
                unit.record_usage(input_tokens=10, output_tokens=10)
                carrier = {}
                propagate.inject(carrier)
                headers.append(carrier.get("baggage", ""))
    genops.shutdown()
    print(json.dumps(headers))
    """
)


def test_invalid_attribution_is_one_log_line_and_valid_utf8_everywhere(tmp_path: Path) -> None:
    collector = Collector().start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
    )
    store = tmp_path / "spend.db"
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(store)],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        collector.stop()
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # one warning, no traceback per export
    assert lines[0].startswith("genops: genops attribution field 'team' had a lone surrogate")
    spans = collector.spans()
    assert len(spans) == 20
    for span in spans:
        attrs = {kv.key: kv.value.string_value for kv in span.attributes}
        assert attrs[A.TEAM] == "sup\ufffdport"
        assert attrs[A.CUSTOMER_ID] == "c\ufffd\ufffd1"
    for header in json.loads(done.stdout):
        header.encode("ascii")  # a valid W3C baggage header
        assert "genops.team=sup%EF%BF%BDport" in header
    with sqlite3.connect(store) as db:
        teams = {row[0] for row in db.execute("SELECT team FROM units")}
    assert teams == {"sup\ufffdport"}


def test_values_are_cleaned_once_at_the_edge() -> None:
    before = _safety.error_counts().get("attribution.invalid_value", 0)
    a = genops.Attribution(team="ok", project="p\x00q", feature="f" * 1000)
    assert (a.team, a.project, a.feature) == ("ok", "p\ufffdq", "f" * 256)
    assert _safety.error_counts()["attribution.invalid_value"] == before + 2
    same = genops.Attribution(team="team-a")
    assert same.team == "team-a"
