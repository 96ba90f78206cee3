"""mypy --strict over every package of the workspace is part of the test suite (and so of CI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.paths import REPO


@pytest.mark.slow
def test_every_package_type_checks_strictly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "genops_native" in (REPO / "pyproject.toml").read_text()
