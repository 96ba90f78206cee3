"""The README's first command runs the offline demo: keep what it shows true."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO


def test_offline_demo_runs_and_shows_governance():
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "the provider received: 'Write to [REDACTED:email] about her refund'" in out
    assert "blocked: POLICY_DENY_MODEL by 'approved-models'; requests sent: 0" in out
    assert "stopped after 7 calls: BUDGET_RESERVATION_FAILED" in out
    assert "research   claude-3-5-haiku-latest        7" in out
    assert "support    gpt-4o-mini                    5" in out
    assert "research-agent-budget crossed 80%" in out
