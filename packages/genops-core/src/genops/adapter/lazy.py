"""Enable an adapter when its framework is first imported, not before.

``genops.init()`` enables every installed integration; importing a heavy framework the
process never uses (several seconds for some) only to register hooks would slow every
start. Integrations declare their module (entry point group
``genops.instrument_on_import``) and ``genops.init()`` waits for it; an adapter's own
``enable``, called directly by a user, defers the same way::

    def enable(runtime=None):
        if "crewai" not in sys.modules:
            return kit.when_imported("crewai", lambda: _enable(runtime))
        return _enable(runtime)

The callback runs once, right after the framework's module finished importing (in the
importing thread), before any user code can use it. Both paths share one post-import
finder (:mod:`genops._imports`). The returned handle's ``uninstrument()`` cancels a
pending callback or undoes the enabled adapter (``uninstrument()`` / ``disable()`` of
what the callback returned).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from genops import _imports, _safety


class Deferred:
    """The handle :func:`when_imported` returns."""

    def __init__(self, module: str, enable: Callable[[], Any]) -> None:
        self.module = module
        self._enable: Callable[[], Any] | None = enable
        self._lock = threading.Lock()
        self._cancel: Callable[[], None] = lambda: None
        #: What the callback returned, once the framework was imported.
        self.handle: Any = None

    def _fire(self, _module: ModuleType | None = None) -> None:
        with self._lock:
            enable, self._enable = self._enable, None
        if enable is not None:
            self.handle = _safety.safe_call(f"enable on import of {self.module}", enable)

    @property
    def pending(self) -> bool:
        """True until the framework is imported (or the handle is uninstrumented)."""
        return self._enable is not None

    def uninstrument(self) -> None:
        """Cancel the pending enable, or undo what it enabled. Idempotent."""
        with self._lock:
            self._enable = None
        self._cancel()
        handle, self.handle = self.handle, None
        undo = getattr(handle, "uninstrument", None) or getattr(handle, "disable", None)
        if callable(undo):
            undo()


def when_imported(module: str, enable: Callable[[], Any]) -> Deferred:
    """Call ``enable()`` once ``module`` is imported — at once when it already is.
    Returns the handle (``uninstrument()``, ``handle``, ``pending``)."""
    deferred = Deferred(module, enable)
    deferred._cancel = _imports.when_imported(module, deferred._fire)
    return deferred


__all__ = ["Deferred", "when_imported"]
