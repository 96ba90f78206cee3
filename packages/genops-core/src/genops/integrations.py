"""Discovery of installed integration packages through the ``genops.integrations`` entry points.

An integration package declares, in its ``pyproject.toml``::

    [project.entry-points."genops.integrations"]
    langchain = "genops_langchain:enable"

``enable(runtime)`` turns it on and returns a handle with ``uninstrument()`` (or
``None``). A failing integration is reported and skipped: one broken adapter never
stops ``genops.init()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from genops import _safety

if TYPE_CHECKING:
    from genops.runtime import GenOps

GROUP = "genops.integrations"
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


def available() -> list[str]:
    """Names of the integrations installed in this environment."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def enable_all(runtime: GenOps, only: set[str] | None = None) -> list[Enabled]:
    """Load and enable every installed integration (or those named in ``only``)."""
    enabled: list[Enabled] = []
    for ep in entry_points(group=GROUP):
        if only is not None and ep.name not in only:
            continue
        try:
            enable = ep.load()
            handle = enable(runtime)
        except ImportError as exc:  # the framework itself is not installed: skip quietly
            log.debug("genops integration %s not enabled: %s", ep.name, exc)
            continue
        except Exception as exc:
            _safety.report(exc, f"integration {ep.name}")
            continue
        if handle is not None:
            enabled.append(Enabled(ep.name, handle))
    return enabled
