"""Post-import hooks: run a callback once a module has been imported, at once if it already is.

``genops.init(instrument=True)`` uses this so an SDK or framework is instrumented when
the application imports it, not imported by genops at init::

    cancel = when_imported("openai", lambda module: instrument_openai())
    cancel()  # before the import: the hook never runs

A finder on ``sys.meta_path`` answers only for watched names (one dict look-up for
every other import); for a watched module it asks the other finders for the spec and
wraps that spec's loader's ``exec_module`` on the loader *instance*, so the module keeps
its own loader type. The hook runs after the module's body has run (after the package
``__init__``, before the importing statement continues), once, then the finder leaves
``sys.meta_path`` when nothing else is watched. A failing hook is reported, never raised
into the importing application.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from genops import _safety

Hook = Callable[[ModuleType], None]

_lock = threading.RLock()
_hooks: dict[str, list[Hook]] = {}
_local = threading.local()


class _Finder:  # a meta path finder (duck-typed: importlib.abc costs ~8 ms to import)
    """Finds nothing itself: wraps the loader of a watched module found by the others."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname not in _hooks:
            return None
        busy: set[str] = _local.__dict__.setdefault("busy", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = _find_elsewhere(self, fullname, path, target)
        finally:
            busy.discard(fullname)
        loader = spec.loader if spec is not None else None
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec  # a built-in or namespace package: not wrapped (no watched SDK is one)
        original = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original(module)
            try:
                del loader.exec_module  # the class's method again
            except AttributeError:
                pass
            _fire(fullname, module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _find_elsewhere(
    me: _Finder, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> ModuleSpec | None:
    for finder in list(sys.meta_path):
        if finder is me:
            continue
        find: Any = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec: ModuleSpec | None = find(fullname, path, target)
        if spec is not None:
            return spec
    return None


_finder = _Finder()


def _fire(name: str, module: ModuleType) -> None:
    with _lock:
        hooks = _hooks.pop(name, [])
        _uninstall_if_idle()
    for hook in hooks:
        with _safety.guard(f"post-import hook for {name}"):
            hook(module)


def _uninstall_if_idle() -> None:
    if not _hooks and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def when_imported(name: str, hook: Hook) -> Callable[[], None]:
    """Run ``hook(module)`` once ``name`` is imported (now, if it already is).

    Returns ``cancel()``: called before the import, the hook never runs.
    """
    with _lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        _hooks.setdefault(name, []).append(hook)
        module = sys.modules.get(name)
        if module is not None and getattr(module.__spec__, "_initializing", False) is False:
            hooks = _hooks.pop(name)  # already imported: fire now (watching first closes
            _uninstall_if_idle()  # the gap where another thread imports it meanwhile)
        else:
            hooks = []
    for ready in hooks:
        with _safety.guard(f"post-import hook for {name}"):
            ready(module)  # type: ignore[arg-type]

    def cancel() -> None:
        with _lock:
            waiting = _hooks.get(name)
            if waiting is not None and hook in waiting:
                waiting.remove(hook)
                if not waiting:
                    del _hooks[name]
            _uninstall_if_idle()

    return cancel


def watched() -> list[str]:
    """Names of modules with hooks still waiting for their import."""
    with _lock:
        return sorted(_hooks)
