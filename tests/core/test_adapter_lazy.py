"""``genops.adapter.when_imported``: an adapter enabled on its framework's first import."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genops import _imports
from genops import adapter as kit


class Handle:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def uninstrument(self) -> None:
        self.log.append("undone")


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[str]:
    name = f"genops_probe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text("LOADED = True\n")
    sys.path.insert(0, str(tmp_path))
    yield name
    sys.path.remove(str(tmp_path))
    sys.modules.pop(name, None)


def test_enables_once_after_the_first_import(probe: str) -> None:
    log: list[str] = []

    def enable() -> Handle:
        log.append(f"enabled, loaded={getattr(sys.modules[probe], 'LOADED', False)}")
        return Handle(log)

    deferred = kit.when_imported(probe, enable)
    assert deferred.pending and log == [] and probe in _imports.watched()
    __import__(probe)
    assert log == ["enabled, loaded=True"]  # after the module body ran
    assert not deferred.pending and probe not in _imports.watched()
    del sys.modules[probe]
    __import__(probe)  # a second import does not enable again
    assert log == ["enabled, loaded=True"]
    deferred.uninstrument()
    deferred.uninstrument()
    assert log == ["enabled, loaded=True", "undone"]


def test_already_imported_enables_at_once_and_cancel_before_import(probe: str) -> None:
    log: list[Any] = []
    __import__(probe)
    now = kit.when_imported(probe, lambda: log.append("now"))
    assert log == ["now"] and not now.pending
    del sys.modules[probe]
    cancelled = kit.when_imported(probe, lambda: log.append("never"))
    cancelled.uninstrument()
    __import__(probe)
    assert log == ["now"] and probe not in _imports.watched()


def test_a_missing_module_is_left_to_the_import_system(probe: str) -> None:
    deferred = kit.when_imported(f"{probe}_absent", lambda: None)
    with pytest.raises(ModuleNotFoundError):
        __import__(f"{probe}_absent")
    assert deferred.pending
    deferred.uninstrument()
