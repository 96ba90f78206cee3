"""Post-import hooks (genops._imports): real modules written to a temp dir, imported for real."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from genops import _imports, _safety


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path; the modules written there are forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in set(sys.modules) - before:
        if name.startswith("lazy_"):
            del sys.modules[name]
    importlib.invalidate_caches()


def _write(root: Path, name: str, body: str = "VALUE = 42\n") -> None:
    path = root.joinpath(*name.split("."))
    if "." in name:
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
    path.with_suffix(".py").write_text(body)
    importlib.invalidate_caches()


def test_hook_runs_once_after_the_module_body_and_the_finder_leaves(modules: Path) -> None:
    _write(modules, "lazy_sdk")
    seen: list[object] = []
    _imports.when_imported("lazy_sdk", lambda m: seen.append(m.VALUE))
    assert "lazy_sdk" not in sys.modules and seen == []
    assert _imports.watched() == ["lazy_sdk"]
    import lazy_sdk

    assert seen == [42]
    assert _imports.watched() == []
    assert not any(type(f).__name__ == "_Finder" for f in sys.meta_path)
    # the module keeps its own loader (type and method), unwrapped after the import
    assert type(lazy_sdk.__loader__).__name__ == "SourceFileLoader"
    assert "exec_module" not in vars(lazy_sdk.__loader__)
    importlib.reload(lazy_sdk)
    assert seen == [42]


def test_already_imported_fires_at_once(modules: Path) -> None:
    _write(modules, "lazy_done")
    import lazy_done

    seen: list[ModuleType] = []
    _imports.when_imported("lazy_done", seen.append)
    assert seen == [lazy_done]
    assert _imports.watched() == []


def test_cancel_before_the_import(modules: Path) -> None:
    _write(modules, "lazy_cancelled")
    seen: list[ModuleType] = []
    cancel = _imports.when_imported("lazy_cancelled", seen.append)
    cancel()
    import lazy_cancelled  # noqa: F401

    assert seen == []
    assert _imports.watched() == []


def test_submodule_of_a_package(modules: Path) -> None:
    _write(modules, "lazy_pkg.core", "from lazy_pkg import helper\nVALUE = helper.X\n")
    _write(modules, "lazy_pkg.helper", "X = 7\n")
    seen: list[int] = []
    _imports.when_imported("lazy_pkg.core", lambda m: seen.append(m.VALUE))
    import lazy_pkg  # the parent alone does not fire

    assert seen == []
    from lazy_pkg import core

    assert core.VALUE == 7 and seen == [7]
    del lazy_pkg


def test_a_failing_hook_never_breaks_the_import(modules: Path) -> None:
    _write(modules, "lazy_fragile")

    def boom(_: ModuleType) -> None:
        raise RuntimeError("hook failed")

    _safety.reset()
    _imports.when_imported("lazy_fragile", boom)
    with _safety.raise_internal_errors(False):
        import lazy_fragile

    assert lazy_fragile.VALUE == 42
    assert _safety.error_counts() == {"post-import hook for lazy_fragile": 1}
    _safety.reset()


def test_a_module_that_fails_to_import_fires_nothing(modules: Path) -> None:
    _write(modules, "lazy_broken", "raise ImportError('missing dependency')\n")
    seen: list[ModuleType] = []
    cancel = _imports.when_imported("lazy_broken", seen.append)
    with pytest.raises(ImportError, match="missing dependency"):
        import lazy_broken  # noqa: F401
    assert seen == []
    cancel()
    assert _imports.watched() == []


#: what `genops.init(instrument=True)` must not import in an app that imports nothing
#: else (each costs tens of ms to seconds: issue 18's start-up target); `import genops`
#: not even pydantic or importlib.metadata (init's background price load and the OTel
#: SDK's resource detection use them)
HEAVY = (
    "yaml", "wrapt", "openai", "anthropic", "botocore", "langchain_core", "llama_index",
    "haystack", "crewai", "litellm", "google.genai",
    # standard-library helpers init does not need: entry points and versions are read
    # by genops._installed; the local store, tz database and file digests load on use
    "importlib.metadata", "importlib.abc", "zipfile", "sqlite3", "zoneinfo", "hashlib",
)  # fmt: skip
HEAVY_AT_IMPORT = (*HEAVY, "pydantic", "genops.preflight", "genops.evaluation")


def test_import_and_init_load_no_framework_no_sdk_and_no_heavy_helper() -> None:
    # init's last step starts the price load on a thread, and genai-prices imports
    # importlib.metadata: a gate holds that thread at its first heavy import until the
    # modules init itself loaded are read (without it, which thread wins is a race)
    code = (
        "import sys, threading\n"
        "released = threading.Event()\n"
        "class Gate:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in HEAVY and threading.current_thread() is not threading.main_thread():\n"
        "            released.wait(10)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Gate())\n"
        "import genops\n"
        "after_import = sorted(m for m in HEAVY_AT_IMPORT if m in sys.modules)\n"
        "genops.init(service_name='s', local_store=False, exporter='none',"
        " metrics_exporter='none', instrument=True)\n"
        "after_init = sorted(m for m in HEAVY if m in sys.modules)\n"
        "released.set()\n"
        "assert genops.get_runtime().prices.lookup('openai', 'gpt-4o-mini') is not None\n"
        "print(after_import, after_init)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\nHEAVY_AT_IMPORT = {HEAVY_AT_IMPORT!r}\n{code}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[] []", out.stdout + out.stderr
