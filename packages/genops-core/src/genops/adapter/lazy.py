"""Enable an adapter when its framework is first imported, not before.

``genops.init()`` enables every installed integration; importing a heavy framework the
process never uses (several seconds for some) only to register hooks would slow every
start. An adapter's ``enable`` defers instead::

    def enable(runtime=None):
        if "crewai" not in sys.modules:
            return kit.when_imported("crewai", lambda: _enable(runtime))
        return _enable(runtime)

The callback runs once, right after the framework's top-level module finished
importing (in the importing thread), before any user code can use it. The returned
handle's ``uninstrument()`` cancels a pending callback or undoes the enabled adapter
(``uninstrument()`` / ``disable()`` of what the callback returned).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from genops import _safety


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, done: Callable[[], None]) -> None:
        self._loader = loader
        self._done = done

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__.loader = self._loader  # type: ignore[union-attr]  # reloads: original
        self._loader.exec_module(module)
        self._done()


class Deferred(importlib.abc.MetaPathFinder):
    """The handle :func:`when_imported` returns (also the import hook itself)."""

    def __init__(self, module: str, enable: Callable[[], Any]) -> None:
        self.module = module
        self._enable: Callable[[], Any] | None = enable
        self._local = threading.local()
        self._lock = threading.Lock()
        #: What the callback returned, once the framework was imported.
        self.handle: Any = None

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.module or getattr(self._local, "busy", False):
            return None
        self._local.busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._local.busy = False
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, self._fire)
        return spec

    def _fire(self) -> None:
        with self._lock:
            enable, self._enable = self._enable, None
        self._remove()
        if enable is not None:
            self.handle = _safety.safe_call(f"enable on import of {self.module}", enable)

    def _remove(self) -> None:
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass

    @property
    def pending(self) -> bool:
        """True until the framework is imported (or the handle is uninstrumented)."""
        return self._enable is not None

    def uninstrument(self) -> None:
        """Cancel the pending enable, or undo what it enabled. Idempotent."""
        with self._lock:
            self._enable = None
        self._remove()
        handle, self.handle = self.handle, None
        undo = getattr(handle, "uninstrument", None) or getattr(handle, "disable", None)
        if callable(undo):
            undo()


def when_imported(module: str, enable: Callable[[], Any]) -> Deferred:
    """Call ``enable()`` once ``module`` (a top-level module) is imported — at once when
    it already is. Returns the handle (``uninstrument()``, ``handle``, ``pending``)."""
    deferred = Deferred(module, enable)
    if module in sys.modules:
        deferred._fire()
    else:
        sys.meta_path.insert(0, deferred)
        if module in sys.modules:  # imported meanwhile by another thread
            deferred._fire()
    return deferred


__all__ = ["Deferred", "when_imported"]
