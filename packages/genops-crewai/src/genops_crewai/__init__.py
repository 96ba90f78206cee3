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

import threading

from genops import GenOps
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


def enable(runtime: GenOps | None = None) -> GenOpsListener:
    """Govern every crew in the process; returns the listener (``uninstrument()`` undoes it).

    Call it (or ``genops.init()``) before building agents: CrewAI copies the global LLM
    hooks into an agent's executor when the executor is created. Enabling again replaces
    the previous listener. ``runtime`` defaults to :func:`genops.get_runtime` per run.
    """
    global _active
    with _lock:
        if _active is not None:
            _active.uninstrument()
        _active = GenOpsListener(runtime)
        return _active


__all__ = [
    "FLUSH_TIMEOUT",
    "OPERATION",
    "GenOpsBlocked",
    "GenOpsListener",
    "LLMCallFailed",
    "ToolFailed",
    "enable",
]
