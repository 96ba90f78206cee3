"""The README's first command runs the offline demo (``genops demo``): keep what it shows true."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.paths import REPO
from tests.test_examples import run_offline as _run


def test_genops_demo_shows_every_table(tmp_path):
    genops_cli = Path(sys.executable).with_name("genops")
    done = _run([str(genops_cli), "demo"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no network noise, no warnings
    out = done.stdout
    assert "Spend by team × model" in out
    for team in ("support", "research", "finance", "search", "ops", "legal", "marketing"):
        assert f"│ {team}" in out, team
    assert "Policy decisions other than ALLOWED, by reason" in out
    for code in ("BUDGET_RESERVATION_FAILED", "POLICY_DENY_MODEL", "POLICY_DENY_CONTENT",
                 "x_max_tokens_exceeded"):  # fmt: skip
        assert code in out, code
    assert "the provider received 'Write to [REDACTED:email] about a refund'" in out
    assert "gpt-4o blocked by 'approved-models'; requests sent: 0" in out
    assert "Bedrock opus blocked by 'approved-models'; requests sent: 0" in out
    assert "Budget research-daily" in out
    assert "Where the data went" in out and str(tmp_path / "spend.db") in out
    assert (tmp_path / "spend.db").exists() and (tmp_path / "demo-audit.jsonl").exists()


def test_examples_demo_runs_the_same_demo(tmp_path):
    done = _run([sys.executable, str(REPO / "examples" / "demo.py")], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Spend by team × model" in done.stdout
