"""Every file in examples/ runs, offline, and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    "demo.py": ["Spend by team × model"],
    "evaluations.py": [
        "'How long do refunds take?': faithfulness 0.0 passed=False",
        "'Is there a refund deadline?': blocked before sending: "
        "x_evaluation_below_minimum by 'grounded-answers'",
        "requests the provider received: 6",  # 3 answers + 3 judge calls; the 4th never sent
        "quality  gpt-4o       3 calls",
    ],
}


def test_every_example_is_covered():
    assert {p.name for p in (REPO / "examples").glob("*.py")} == set(EXPECT)


def run_offline(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``args`` as a user would: no OTEL_* variables, a fresh local store in tmp_path."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTEST_CURRENT_TEST" and not k.startswith("OTEL_")
    }
    env["GENOPS_LOCAL_STORE"] = str(tmp_path / "spend.db")
    env["COLUMNS"] = "200"
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=env, check=False)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_example_runs(name: str, tmp_path: Path):
    done = run_offline([sys.executable, str(REPO / "examples" / name)], tmp_path)
    assert done.returncode == 0, done.stderr
    for text in EXPECT[name]:
        assert text in done.stdout, (text, done.stdout[-3000:])
