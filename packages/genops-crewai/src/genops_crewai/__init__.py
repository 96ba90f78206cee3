"""genops for CrewAI: crews, tasks, agent turns, tools and LLM calls as governed,
nested OpenTelemetry spans, with policy enforced in CrewAI's pre-call hook.

``genops.init()`` turns it on when crewai is installed; by hand::

    import genops_crewai

    handle = genops_crewai.enable()
    crew.kickoff()        # invoke_workflow {crew} → invoke_agent {role} → chat {model}
    handle.uninstrument()

A BLOCKED decision raises :class:`GenOpsBlocked` (a :class:`genops.PolicyViolationError`
and a CrewAI ``HookAborted``) from ``crew.kickoff()``: the provider is never called.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from genops import GenOps
from genops import adapter as kit

if TYPE_CHECKING:  # (imported lazily: importing crewai takes seconds)
    from genops_crewai._listener import (
        FLUSH_TIMEOUT,
        OPERATION,
        GenOpsBlocked,
        GenOpsListener,
        LLMCallFailed,
        ToolFailed,
    )

_lock = threading.Lock()
_active: GenOpsListener | None = None


def _enable(runtime: GenOps | None) -> GenOpsListener:
    global _active
    from genops_crewai._listener import GenOpsListener

    with _lock:
        if _active is not None:
            _active.uninstrument()
        _active = GenOpsListener(runtime)
        return _active


def enable(runtime: GenOps | None = None) -> GenOpsListener | kit.Deferred:
    """Govern every crew in the process; the handle's ``uninstrument()`` undoes it.

    Call it (or ``genops.init()``) before building agents: CrewAI copies the global LLM
    hooks into an agent's executor when the executor is created. When crewai is not
    imported yet, this returns at once and enables on its import (a process that never
    uses crewai never pays for importing it). Enabling again replaces the previous
    listener. ``runtime`` defaults to :func:`genops.get_runtime` per run.
    """
    if "crewai" not in sys.modules:
        return kit.when_imported("crewai", lambda: _enable(runtime))
    return _enable(runtime)


def __getattr__(name: str) -> Any:
    if name in __all__:
        from genops_crewai import _listener

        return getattr(_listener, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FLUSH_TIMEOUT",
    "OPERATION",
    "GenOpsBlocked",
    "GenOpsListener",
    "LLMCallFailed",
    "ToolFailed",
    "enable",
]
