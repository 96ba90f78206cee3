"""Discovery of installed integration packages through the ``genops.integrations`` entry points.

An integration package declares, in its ``pyproject.toml``::

    [project.entry-points."genops.integrations"]
    langchain = "genops_langchain:enable"

``enable(runtime)`` turns it on and returns a handle with ``uninstrument()`` (or
``None``). A failing integration is reported and skipped: one broken adapter never
stops ``genops.init()``.

An integration that instruments one SDK or framework also names the module it needs,
so ``genops.init()`` does not import it (an app pays only for what it uses)::

    [project.entry-points."genops.instrument_on_import"]
    langchain = "langchain_core"

It is then enabled when the application imports that module (a post-import hook,
:mod:`genops._imports`), or at once when it already has. Integrations without that
entry are enabled at init.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genops import _imports, _safety

if TYPE_CHECKING:
    from genops._installed import EntryPoint
    from genops.runtime import GenOps

GROUP = "genops.integrations"
#: integration name → the module whose import enables it
ON_IMPORT_GROUP = "genops.instrument_on_import"
log = logging.getLogger("genops.integrations")


@dataclass(slots=True)
class Enabled:
    """An integration turned on by :func:`enable_all`."""

    name: str
    handle: Any

    def disable(self) -> None:
        undo = getattr(self.handle, "uninstrument", None) or getattr(self.handle, "disable", None)
        if callable(undo):
            undo()


@dataclass(slots=True)
class Waiting:
    """An integration that is enabled when the app imports ``module``."""

    name: str
    module: str
    cancel: Callable[[], None]


def _entry_points(*groups: str) -> list[EntryPoint]:
    """The entry points of ``groups``, in one scan of the installed distributions."""
    from genops import _installed  # (read at init: not on the import path)

    return _installed.scan().entry_points(*groups)


def available() -> list[str]:
    """Names of the integrations installed in this environment."""
    return sorted(ep.name for ep in _entry_points(GROUP))


def enable_all(
    runtime: GenOps,
    only: set[str] | None = None,
    *,
    waiting: list[Waiting] | None = None,
) -> list[Enabled]:
    """Enable every installed integration (or those named in ``only``).

    With ``waiting`` (what ``genops.init()`` passes), an integration that names its
    module in ``genops.instrument_on_import`` is enabled when that module is imported
    (at once if it already is) and appended to the returned list then; its pending
    hook is added to ``waiting``. Without it, every integration is enabled now.
    """
    enabled: list[Enabled] = []
    lock = threading.Lock()
    points = _entry_points(GROUP, ON_IMPORT_GROUP)
    modules = {} if waiting is None else {e.name: e.value for e in points if e.group != GROUP}
    for ep in points:
        if ep.group != GROUP:
            continue
        if only is not None and ep.name not in only:
            continue
        module = modules.get(ep.name)
        if module is None:
            _enable(ep, runtime, enabled, lock)
            continue
        assert waiting is not None
        item = Waiting(ep.name, module, lambda: None)

        def hook(_: Any, ep: Any = ep, item: Waiting = item) -> None:
            if item in waiting:
                waiting.remove(item)
            _enable(ep, runtime, enabled, lock)

        waiting.append(item)
        item.cancel = _imports.when_imported(module, hook)
    return enabled


def _enable(ep: Any, runtime: GenOps, enabled: list[Enabled], lock: threading.Lock) -> None:
    try:
        enable = ep.load()
        handle = enable(runtime)
    except ImportError as exc:  # the framework itself is not installed: skip quietly
        log.debug("genops integration %s not enabled: %s", ep.name, exc)
        return
    except Exception as exc:
        _safety.report(exc, f"integration {ep.name}")
        return
    if handle is not None:
        with lock:
            enabled.append(Enabled(ep.name, handle))
