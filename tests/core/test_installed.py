"""genops._installed reads entry points and versions the way importlib.metadata does."""

from __future__ import annotations

import importlib.metadata
import sys
import zipfile
from pathlib import Path

import pytest

from genops import _installed

GROUPS = ("genops.integrations", "genops.instrument_on_import")


def _standard(groups: tuple[str, ...] = GROUPS) -> list[tuple[str, str, str]]:
    found = importlib.metadata.entry_points()
    return [(e.group, e.name, e.value) for g in groups for e in found.select(group=g)]


def _ours(groups: tuple[str, ...] = GROUPS) -> list[tuple[str, str, str]]:
    return [(e.group, e.name, e.value) for e in _installed.scan().entry_points(*groups)]


def test_this_environment_gives_the_standard_answer() -> None:
    assert sorted(_ours()) == sorted(_standard())
    assert {name for _, name, _ in _ours()} >= {"langchain", "openai", "anthropic"}
    installed = _installed.scan(entry_points=False)
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert len(names) > 50
    for name in names:
        assert installed.version(name) == importlib.metadata.version(name), name
    assert installed.version("no-such-distribution-here") is None


def _dist(folder: Path, name: str, version: str, entry_points: str = "") -> None:
    folder.mkdir(parents=True)
    header = "PKG-INFO" if folder.name.endswith(".egg-info") else "METADATA"
    (folder / header).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nVersion: not-this\n"
    )
    if entry_points:
        (folder / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(
        first / "acme_adapter-1.2.3.dist-info",
        "acme_adapter",
        "1.2.3",
        "# a comment\n[console_scripts]\nacme = acme:main\n\n"
        "[genops.integrations]\nacme = acme_adapter:enable\n"
        "# another comment\n[genops.instrument_on_import]\nacme = acme_sdk\n",
    )
    _dist(first / "Old.Tool.egg-info", "Old.Tool", "0.9", "[genops.integrations]\nold=old:on\n")
    _dist(
        second / "acme_adapter-2.0.dist-info",  # shadowed by the first on the path
        "acme_adapter",
        "2.0",
        "[genops.integrations]\nacme = shadowed:enable\n",
    )
    _dist(second / "other-5.dist-info", "other", "5", "[genops.integrations]\nother = o:e\n")
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])
    return first, second


def test_a_synthetic_path_gives_the_standard_answer(site: tuple[Path, Path]) -> None:
    assert sorted(_ours()) == [
        ("genops.instrument_on_import", "acme", "acme_sdk"),
        ("genops.integrations", "acme", "acme_adapter:enable"),
        ("genops.integrations", "old", "old:on"),
        ("genops.integrations", "other", "o:e"),
    ]
    assert sorted(_ours()) == sorted(_standard())
    installed = _installed.scan()
    for name, version in [("acme-adapter", "1.2.3"), ("old_tool", "0.9"), ("Other", "5")]:
        assert installed.version(name) == version == importlib.metadata.version(name)
    # only genops groups are collected
    assert installed.entry_points("console_scripts") == []


def test_a_zip_on_the_path_is_answered_by_importlib_metadata(
    site: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped-3.1.dist-info/METADATA", "Name: zipped\nVersion: 3.1\n\n")
        bundle.writestr(
            "zipped-3.1.dist-info/entry_points.txt", "[genops.integrations]\nzipped = z:e\n"
        )
    sys.path.append(str(archive))
    assert ("genops.integrations", "zipped", "z:e") in _ours()
    assert sorted(_ours()) == sorted(_standard())
    assert _installed.scan().version("zipped") == "3.1"


def test_entry_point_load_resolves_module_attribute_paths_and_ignores_extras() -> None:
    point = _installed.EntryPoint("x", "genops._installed:EntryPoint.load [extra]", "g")
    assert point.load() is _installed.EntryPoint.load
    assert _installed.EntryPoint("m", "genops._installed", "g").load() is _installed
