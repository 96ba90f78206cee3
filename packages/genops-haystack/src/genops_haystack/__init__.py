"""genops for Haystack: pipeline runs as governed OpenTelemetry spans, and GenOpsGuard.

::

    handle = genops_haystack.enable()   # genops.init() does this when installed
    pipeline.run({...})                  # one span per pipeline and component run
    handle.disable()                     # the tracer installed before is back

``enable()`` replaces Haystack's one tracer (e.g. opentelemetry-haystack's), so a run
never produces two trees; ``disable()`` puts it back unless another replaced ours.
"""

from __future__ import annotations

import logging
import threading

from haystack import tracing

from genops import GenOps
from genops_haystack._components import PROVIDERS
from genops_haystack._guard import GenOpsGuard, GuardBlockedError
from genops_haystack._tracer import CONTENT_ENV, GenOpsSpan, GenOpsTracer

log = logging.getLogger("genops_haystack")
_lock = threading.Lock()


class HaystackInstrumentation:
    """Handle returned by :func:`enable`; :meth:`disable` restores the previous tracer."""

    def __init__(self, tracer: GenOpsTracer, previous: tracing.Tracer) -> None:
        self.tracer = tracer
        self.previous = previous

    @property
    def active(self) -> bool:
        """True while this handle's tracer is Haystack's tracer."""
        return tracing.tracer.actual_tracer is self.tracer

    def disable(self) -> None:
        """Put back the tracer that was installed before :func:`enable`. Idempotent."""
        with _lock:
            if tracing.tracer.actual_tracer is self.tracer:
                tracing.enable_tracing(self.previous)

    uninstrument = disable


def enable(runtime: GenOps | None = None) -> HaystackInstrumentation:
    """Install :class:`GenOpsTracer` as Haystack's tracer; returns a handle with ``disable()``.

    Enabling again replaces the genops tracer and keeps the original previous tracer.
    """
    tracer = GenOpsTracer(runtime)
    with _lock:
        previous = tracing.tracer.actual_tracer
        if isinstance(previous, GenOpsTracer):
            previous = previous.replaced or tracing.tracer.actual_tracer
        elif tracing.is_tracing_enabled():
            log.info("genops-haystack replaces the Haystack tracer %s", type(previous).__name__)
        tracer.replaced = previous
        tracing.enable_tracing(tracer)
    return HaystackInstrumentation(tracer, previous)


__all__ = [
    "CONTENT_ENV",
    "PROVIDERS",
    "GenOpsGuard",
    "GenOpsSpan",
    "GenOpsTracer",
    "GuardBlockedError",
    "HaystackInstrumentation",
    "enable",
]
