"""``genops report`` over a store the demo filled: every format, every error path."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys

import pytest

from tests.cli.conftest import run_cli


def test_table_answers_team_last_week(store):
    code, out = run_cli("report", "--store", str(store), "--since", "7d", "--team", "search",
                        "--by", "model")  # fmt: skip
    assert code == 0
    assert "text-embedding-3-small" in out and "gpt-4o-mini" in out and "total" in out
    assert "claude" not in out  # other teams are filtered out


def test_csv_json_agree(store):
    code, text = run_cli("report", "--store", str(store), "--by", "team,model", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["team", "model", "calls", "blocked", "input_tokens",
                             "output_tokens", "cost_unknown_units", "cost"]  # fmt: skip
    code, text = run_cli("report", "--store", str(store), "--by", "team,model", "--format", "json")
    doc = json.loads(text)
    assert doc["currency"] == "USD" and doc["by"] == ["team", "model"]
    assert math.isclose(sum(float(r["cost"]) for r in rows), doc["total"]["cost"], rel_tol=1e-9)
    assert sum(int(r["calls"]) for r in rows) == doc["total"]["calls"]


def test_from_to_range_and_output_file(store, tmp_path):
    out_file = tmp_path / "r.json"
    code, text = run_cli("report", "--store", str(store), "--from", "2000-01-01", "--to",
                         "2000-01-02", "--format", "json", "-o", str(out_file))  # fmt: skip
    assert code == 0 and "wrote json report" in text
    assert json.loads(out_file.read_text())["rows"] == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--by", "colour"], 2, "--by: unknown field 'colour'"),
        (["--since", "7d", "--from", "2026-01-01"], 2, "--since cannot be combined"),
        (["--from", "yesterday"], 2, "--from: expected a UTC date"),
        (["--since", "7 parsecs"], 2, "duration"),
        (["--format", "pdf"], 2, "'pdf' is not one of"),
    ],
)
def test_user_errors_are_one_line(store, capsys, args, code, message):
    assert run_cli("report", "--store", str(store), *args)[0] == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_store_is_exit_1(tmp_path, capsys):
    assert run_cli("report", "--store", str(tmp_path / "none.db"))[0] == 1
    assert "no local store at" in capsys.readouterr().err


def test_every_command_has_help(capsys):
    for command in (["demo"], ["report"], ["budgets"], ["budget-status"], ["prices"],
                    ["policy", "check"], ["validate"], ["audit"], []):  # fmt: skip
        code, _ = run_cli(*command, "--help")
        out = capsys.readouterr().out  # click writes help to stdout itself
        assert code == 0 and "Usage: genops" in out, command


def test_console_script_runs_report(store):
    done = subprocess.run(
        [sys.executable, "-m", "genops.cli", "report", "--store", str(store), "--format", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"]["calls"] > 0
