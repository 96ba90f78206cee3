"""Every file in examples/ runs, offline, and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from genops.store import LocalStore, Query, spend
from tests.deploy.prometheus import free_port
from tests.paths import REPO

EXPECT = {
    "sdk_local_store.py": ["support", "acme", "globex", "total"],
    "otlp_collector.py": ["collector received: ['/v1/metrics', '/v1/traces']"],
    "native_openai.py": [
        "gpt-4o blocked: POLICY_DENY_MODEL by 'approved'; requests the provider received: 1"
    ],
    "native_anthropic.py": ['"genops.cost.total"', "answer: 'Here is a short, grounded answer.'"],
    "langchain_rag.py": [
        "blocked before sending: POLICY_DENY_CONTENT by 'no-ssn'",
        "search",
        "ops",
    ],
    "llamaindex_query.py": [
        "acme: Can we terminate early? -> 'Here is a short, grounded answer.'",
        "legal acme    gpt-4o-mini 1 calls",
        "legal globex  gpt-4o-mini 1 calls",
    ],
    "haystack_pipeline.py": [
        "initech: How big is the Vega? -> 'Here is a short, grounded answer.'",
        "marketing acme    gpt-4o-mini 1 calls",
        "marketing initech gpt-4o-mini 1 calls",
    ],
    "native_bedrock.py": [
        "opus blocked: POLICY_DENY_MODEL by 'approved'; requests the provider received: 1",
        "finance aws.bedrock amazon.nova-micro-v1:0 1 calls 20+32 tokens $0.000005",
    ],
    "demo.py": ["Spend by team × model"],
    "evaluations.py": [
        "'How long do refunds take?': faithfulness 0.0 passed=False",
        "'Is there a refund deadline?': blocked before sending: "
        "x_evaluation_below_minimum by 'grounded-answers'",
        "requests the provider received: 6",  # 3 answers + 3 judge calls; the 4th never sent
        "quality  gpt-4o       3 calls",
    ],
    "prometheus_scrape.py": ["3 governed calls; scrape http://127.0.0.1:"],
}


def test_every_example_is_covered():
    assert {p.name for p in (REPO / "examples").glob("*.py")} == set(EXPECT)


def offline_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment: no OTEL_* variables, a fresh local store in tmp_path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTEST_CURRENT_TEST" and not k.startswith("OTEL_")
    }
    env["GENOPS_LOCAL_STORE"] = str(tmp_path / "spend.db")
    env["COLUMNS"] = "200"
    return env


def run_offline(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``args`` as a user would (:func:`offline_env`), with no input (EOF on stdin)."""
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=180,
        env=offline_env(tmp_path),
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name: str, tmp_path: Path):
    done = run_offline([sys.executable, str(REPO / "examples" / name)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no network noise, no warnings, no retry lines
    for text in EXPECT[name]:
        assert text in done.stdout, (text, done.stdout[-3000:])


def _by_team(samples: list[Sample], name: str, **match: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for sample in samples:
        if sample.name == name and all(sample.labels.get(k) == v for k, v in match.items()):
            team = sample.labels["genops_team"]
            totals[team] = totals.get(team, 0.0) + sample.value
    return totals


def test_prometheus_example_is_scraped_over_http(tmp_path: Path):
    """The app serves /metrics while it runs; what a scrape reads equals what the local
    store recorded for the same calls (cost and tokens per team)."""
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, str(REPO / "examples" / "prometheus_scrape.py"), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=offline_env(tmp_path),
    )
    assert app.stdin is not None and app.stdout is not None
    try:
        line = app.stdout.readline()
        assert f"3 governed calls; scrape http://127.0.0.1:{port}/metrics" in line, line
        no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with no_proxy.open(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            assert response.status == 200
            body = response.read().decode()
    finally:
        _, err = app.communicate("\n", timeout=60)
    assert app.returncode == 0 and err == ""
    samples = [s for family in text_string_to_metric_families(body) for s in family.samples]
    cost = _by_team(samples, "genops_cost_USD_total")
    tokens_in = _by_team(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input")
    tokens_out = _by_team(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="output")
    db = LocalStore(tmp_path / "spend.db", readonly=True)
    try:
        rows = {r["team"]: r for r in spend(db, Query(0, time.time() + 1, ("team",)))}
    finally:
        db.close()
    assert set(cost) == set(rows) == {"support", "search"}
    for team, row in rows.items():
        assert row["calls"] == {"support": 2, "search": 1}[team]
        assert cost[team] == pytest.approx(row["cost"], rel=1e-9) and cost[team] > 0
        assert (tokens_in[team], tokens_out[team]) == (row["input_tokens"], row["output_tokens"])
