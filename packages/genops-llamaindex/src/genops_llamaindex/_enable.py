"""``enable()`` / ``disable()``: the handlers on LlamaIndex's root dispatcher, plus the gate.

The dispatcher swallows every handler exception, so ``Dispatcher.span_enter`` is wrapped
(once, undone by :func:`disable`): for LLM and embedding call spans the governed unit
starts before the swallowing loop and a BLOCKED decision reaches the caller.
"""

from __future__ import annotations

import threading
from typing import Any

# llama-index-core re-exports these without __all__
from llama_index.core.instrumentation import (  # type: ignore[attr-defined]
    Dispatcher,
    get_dispatcher,
)
from llama_index.core.instrumentation.span import active_span_id

from genops import GenOps, PolicyViolationError
from genops_llamaindex._extract import method
from genops_llamaindex._handler import GenOpsInstrumentation, _is_call

_lock = threading.Lock()
_active: GenOpsInstrumentation | None = None
_original_span_enter: Any = None


def _gated_span_enter(self: Dispatcher, id_: str, *args: Any, **kwargs: Any) -> None:
    inst, instance = _active, kwargs.get("instance")
    if inst is not None and instance is not None and _is_call(instance, method(id_)):
        handler = inst.span_handler
        if any(h is handler for h in self._walk_span_handlers()):
            try:  # starts the unit; the handler's own span_enter below is then a no-op
                handler.span_enter(id_, *args, **kwargs)
            except PolicyViolationError:
                active_span_id.set(kwargs.get("parent_id"))  # the decorator never resets it
                raise
    _original_span_enter(self, id_, *args, **kwargs)


class LlamaIndexInstrumentation:
    """Handle returned by :func:`enable`; :meth:`uninstrument` removes everything it added."""

    def __init__(self, instrumentation: GenOpsInstrumentation) -> None:
        self.instrumentation = instrumentation

    @property
    def active(self) -> bool:
        """True while this handle's handlers are on the root dispatcher."""
        return _active is self.instrumentation

    def uninstrument(self) -> None:
        """Remove the handlers and the gate; runs still open end with an error. Idempotent."""
        with _lock:
            if _active is self.instrumentation:
                _remove()

    disable = uninstrument


def enable(runtime: GenOps | None = None) -> LlamaIndexInstrumentation:
    """Govern every LlamaIndex call in the process; returns a handle with ``uninstrument()``.

    Adds one span handler and one event handler to the root dispatcher
    (``llama_index.core.instrumentation.get_dispatcher()``) and installs the policy
    gate. ``runtime`` defaults to :func:`genops.get_runtime` at each run. Calling it
    again replaces the earlier handlers (that handle becomes inactive).
    """
    global _active, _original_span_enter
    inst = GenOpsInstrumentation(runtime)
    with _lock:
        if _active is not None:
            _remove()
        root = get_dispatcher()
        root.add_span_handler(inst.span_handler)
        root.add_event_handler(inst.event_handler)
        _original_span_enter = Dispatcher.span_enter
        Dispatcher.span_enter = _gated_span_enter  # type: ignore[method-assign]
        inst.gated = True
        _active = inst
    return LlamaIndexInstrumentation(inst)


def disable() -> None:
    """Remove whatever :func:`enable` added (no handler, no gate left behind)."""
    with _lock:
        if _active is not None:
            _remove()


def _remove() -> None:
    global _active, _original_span_enter
    inst = _active
    assert inst is not None
    root = get_dispatcher()
    root.span_handlers = [h for h in root.span_handlers if h is not inst.span_handler]
    root.event_handlers = [h for h in root.event_handlers if h is not inst.event_handler]
    if _original_span_enter is not None:
        Dispatcher.span_enter = _original_span_enter  # type: ignore[method-assign]
        _original_span_enter = None
    _active = None
    inst.gated = False
    inst.tree.end_all(RuntimeError("genops-llamaindex disabled while the run was open"))
