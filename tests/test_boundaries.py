"""Integration packages import only public genops API: nothing under ``genops._*``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parent.parent / "packages"
SOURCES = sorted(
    p for p in PACKAGES.glob("*/src/**/*.py") if not p.is_relative_to(PACKAGES / "genops-core")
)


def _private_imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [
            n
            for n in names
            if n.split(".")[0] == "genops" and any(p.startswith("_") for p in n.split(".")[1:])
        ]
    return found


def test_there_are_integration_sources() -> None:
    assert any("genops_llamaindex" in str(p) for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGES)))
def test_no_private_genops_imports(path: Path) -> None:
    assert _private_imports(path) == []


def test_the_check_finds_private_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import genops._record\nfrom genops import _safety, adapter\n")
    assert _private_imports(bad) == ["genops._record", "genops._safety"]
