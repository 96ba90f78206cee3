"""Global registration through LangChain's own configure hook (no monkeypatching).

::

    import genops_langchain

    handle = genops_langchain.enable()   # genops.init() does this for you
    chain.invoke(question)               # every run in the process is governed
    handle.uninstrument()

LangChain asks each registered hook variable for a handler (``var.get()``) whenever it
configures a callback manager. The variable registered here is process-global rather
than a :class:`contextvars.ContextVar`: a ``ContextVar`` set in ``enable()`` would be
invisible to threads started without a copy of that context (web-server worker
threads), and "every run in the process" would silently not hold.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.tracers.context import register_configure_hook

from genops import GenOps
from genops_langchain._handler import GenOpsCallbackHandler


class _ProcessHandlerVar:
    """The hook variable: ``get()`` returns the enabled handler, process-wide.

    Provides the one method LangChain's configure hook calls on its variables.
    """

    def __init__(self) -> None:
        self._handler: GenOpsCallbackHandler | None = None

    def get(self, default: Any = None) -> GenOpsCallbackHandler | None:
        handler = self._handler
        return handler if handler is not None else default


_var = _ProcessHandlerVar()
_lock = threading.Lock()
_registered = False


class LangChainInstrumentation:
    """Handle returned by :func:`enable`; :meth:`uninstrument` turns the global handler off."""

    def __init__(self, handler: GenOpsCallbackHandler) -> None:
        self.handler = handler

    @property
    def active(self) -> bool:
        """True while this handle's handler is the one LangChain picks up."""
        return _var._handler is self.handler

    def uninstrument(self) -> None:
        """Stop covering new runs (runs already open still end normally). Idempotent."""
        with _lock:
            if _var._handler is self.handler:
                _var._handler = None


def enable(runtime: GenOps | None = None) -> LangChainInstrumentation:
    """Govern every LangChain run in the process; returns a handle with ``uninstrument()``.

    ``runtime`` is the genops runtime the handler reports to (``genops.init()`` passes
    its own); ``None`` means whatever :func:`genops.get_runtime` returns at each run.
    Calling ``enable`` again replaces the global handler (the earlier handle becomes
    inactive). A handler passed explicitly in ``config["callbacks"]`` is not
    duplicated: LangChain adds the global one only when no ``GenOpsCallbackHandler``
    is present.
    """
    global _registered
    handler = GenOpsCallbackHandler(runtime)
    with _lock:
        if not _registered:
            register_configure_hook(_var, True, GenOpsCallbackHandler)  # type: ignore[arg-type]
            _registered = True
        _var._handler = handler
    return LangChainInstrumentation(handler)
