"""The ``genops`` console script: budget-status, audit and validate."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import genops
from genops.cli import main
from genops.policy import Engine

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "genops-policy.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "ledger": f"sqlite:///{tmp_path / 'ledger.db'}",
                "audit": {"sink": f"sqlite:///{tmp_path / 'audit.db'}"},
                "policies": [
                    {"name": "approved", "type": "allowed_models", "models": ["acme-small"]},
                    {"name": "spend", "type": "budget", "limit": 2, "window": "monthly",
                     "per": "team"},
                ],
            }
        )
    )  # fmt: skip
    return path


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def traffic(make_genops: Callable[..., genops.GenOps], policy_file: Path) -> None:
    make_genops(policy=str(policy_file), prices=PRICES)
    with genops.attribution(team="support"):
        for model in ("acme-small", "acme-small", "acme-large"):
            try:
                with genops.governed(
                    "reply", provider="openai", model=model,
                    request=genops.RequestEstimate(input_tokens=100, max_output_tokens=100),
                ) as unit:  # fmt: skip
                    unit.record_usage(input_tokens=100, output_tokens=50)
            except genops.PolicyViolationError:
                pass
    engine = genops.get_runtime().engine
    assert isinstance(engine, Engine) and engine.audit is not None
    engine.audit.flush()


def test_budget_status_reads_the_configured_ledger(
    make_genops: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    traffic(make_genops, policy_file)
    code, out = run_cli("budget-status", "spend", "team=support", "--policy", str(policy_file),
                        "--json")  # fmt: skip
    assert code == 0
    status = json.loads(out)
    assert status["key"] == "budget:spend|team=support"
    assert status["consumed"] == pytest.approx(0.3)
    assert status["remaining"] == pytest.approx(1.7)
    assert status["unit"] == "USD"
    code, out = run_cli("budget-status", "spend", "team=support", "--policy", str(policy_file))
    assert "consumed  0.3 USD" in out and "remaining 1.7 USD" in out
    code, out = run_cli("budget-status", "--policy", str(policy_file))
    assert out.split("\t")[:3] == ["spend", "budget", "monthly"]


def test_budget_status_errors(policy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("budget-status", "nope", "--policy", str(policy_file))[0] == 2
    assert "no budget or rate-limit policy named 'nope'" in capsys.readouterr().err
    assert run_cli("budget-status", "spend", "--policy", str(policy_file))[0] == 2
    assert "missing ['team']" in capsys.readouterr().err


def test_audit_lists_who_was_blocked(
    make_genops: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    traffic(make_genops, policy_file)
    code, out = run_cli("audit", "--policy-file", str(policy_file), "--result", "BLOCKED",
                        "--json", "--since", "1h")  # fmt: skip
    assert code == 0
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert (record["policy"], record["reason_code"], record["team"], record["model"]) == (
        "approved",
        "POLICY_DENY_MODEL",
        "support",
        "acme-large",
    )
    code, out = run_cli("audit", "--policy-file", str(policy_file), "--team", "support")
    assert code == 0 and len(out.splitlines()) == 5  # 2 units × 2 policies + 1 blocked
    assert "POLICY_DENY_MODEL" in out.splitlines()[0]
    assert run_cli("audit", "--policy-file", str(policy_file), "--team", "nobody")[0] == 1


def test_validate(policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli("validate", str(policy_file))
    assert code == 0 and "OK, 2 policies" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\npolicies:\n  - {name: x, type: magic}\n")
    assert run_cli("validate", str(bad))[0] == 2
    assert "unknown policy type 'magic'" in capsys.readouterr().err


def test_console_script_is_installed(policy_file: Path) -> None:
    exe = Path(sys.executable).parent / "genops"
    env: dict[str, Any] = {**os.environ, "GENOPS_POLICY_FILE": str(policy_file)}
    done = subprocess.run(
        [str(exe), "budget-status", "spend", "team=ops", "--json"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["remaining"] == 2.0


def test_policy_check_explains_sla_and_evaluation_rules_and_scopes(tmp_path: Path) -> None:
    path = tmp_path / "quality.yaml"
    path.write_text(
        "version: 1\npolicies:\n"
        "  - {name: fast, type: sla, tier: gold, latency_target_ms: 2000, scope: {team: search}}\n"
        "  - {name: grounded, type: evaluation, metric: faithfulness, min_pass_rate: 0.9}\n"
    )
    code, out = run_cli("policy", "check", str(path))
    assert code == 0, out
    assert "fast\tSlaPolicy\tWARNING\tsla=SLA(tier='gold', latency_target_ms=2000)" in out
    assert "scope={'team': ('search',)}" in out and "Scope object" not in out
    assert "grounded\tEvaluationPolicy\tBLOCKED\tmetric=faithfulness min_pass_rate=0.9" in out
