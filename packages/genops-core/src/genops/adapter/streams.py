"""Stream proxies that finish a governed call **exactly once** — the kit's stream base.

A proxy keeps the SDK stream's public API (``wrapt.ObjectProxy``: attributes,
``isinstance``, ``.response``, ``with``, ``close()``) and adds one thing: every
chunk goes through a :class:`StreamFinalizer`, which completes the call when the
stream

- is exhausted (usage/cost from the final chunk or event),
- raises midway (``error.type``; the SDK's exception is re-raised unchanged),
- is closed, used as a context manager, or broken out of in a ``for`` loop
  (usage that never arrived → the core reconciles at the reservation, flagged
  ``genops.accounting.incomplete``),
- is garbage-collected without any of the above (``weakref.finalize``).

An SDK adapter supplies a :class:`StreamRecorder` (accumulates chunks, reports
what it learned once at the end) and a ``complete(outcome, error)`` callback::

    class ChatRecorder:
        def __init__(self): self.usage = None
        def record(self, chunk): self.usage = chunk.usage or self.usage
        def outcome(self): return self.usage

    def complete(usage, error):
        if usage is not None:
            unit.record_usage(raw=usage)
        unit.finish(error)

    finalizer = StreamFinalizer(ChatRecorder(), complete, on_first_chunk=unit.record_first_chunk)
    return SyncStreamProxy(sdk_stream, finalizer)
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import wrapt

from genops import _safety

if TYPE_CHECKING:
    _Proxy = wrapt.ObjectProxy[Any]
else:  # wrapt < 2 proxies are not subscriptable at runtime
    _Proxy = wrapt.ObjectProxy


class StreamRecorder(Protocol):
    """Accumulates one stream's chunks; ``outcome()`` is read once, at the end.

    A partial usage count (e.g. Anthropic's ``message_start`` before its
    ``message_delta``) is the recorder's call to make: report what was really
    billed, or ``None`` to let the core reconcile at the reservation (incomplete).
    """

    def record(self, chunk: Any) -> None: ...

    def outcome(self) -> Any: ...


class StreamFinalizer:
    """Feeds chunks to a :class:`StreamRecorder`; completes the call exactly once.

    ``complete(outcome, error)`` runs once, with the recorder's outcome (``None`` if
    reading it failed) and the error that ended the stream (``None`` for exhaustion,
    close, break or garbage collection). ``on_first_chunk`` runs at the first chunk.
    ``hide(chunk)`` → True: the chunk is recorded but not handed to the caller.
    """

    __slots__ = (
        "__weakref__", "_complete", "_done", "_first", "_hide", "_lock", "_seen", "_state",
    )  # fmt: skip

    def __init__(
        self,
        state: StreamRecorder,
        complete: Callable[[Any, BaseException | None], None],
        *,
        on_first_chunk: Callable[[], None] | None = None,
        hide: Callable[[Any], bool] | None = None,
    ) -> None:
        self._state = state
        self._hide = hide
        self._complete = complete
        self._first = on_first_chunk
        self._seen = False
        self._done = False
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done

    def hides(self, chunk: Any) -> bool:
        """True for a chunk the caller must not see (recorded, then skipped by the proxy):
        e.g. the usage-only final chunk of a stream whose usage genops asked for."""
        if self._hide is None:
            return False
        try:
            return self._hide(chunk)
        except Exception as exc:
            _safety.report(exc, "stream hide")
            return False

    def record(self, chunk: Any) -> None:
        if self._done:
            return
        if not self._seen:
            self._seen = True
            if self._first is not None:
                with _safety.guard("stream first chunk"):
                    self._first()
        try:
            self._state.record(chunk)
        except Exception as exc:
            _safety.report(exc, "stream chunk")

    def finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            outcome = self._state.outcome()
        except Exception as exc:
            _safety.report(exc, "stream outcome")
            outcome = None
        self._complete(outcome, error)

    def finish_collected(self) -> None:
        """Called by ``weakref.finalize`` when the stream was dropped unfinished."""
        try:
            self.finish(None)
        except Exception:  # never raise from a GC callback, even under pytest
            pass


def _watch(proxy: object, finalizer: StreamFinalizer) -> None:
    hook = weakref.finalize(proxy, finalizer.finish_collected)
    hook.atexit = False


class SyncStreamProxy(_Proxy):
    """A sync SDK stream that completes its call exactly once.

    The stream is an iterator, or an iterable whose ``__iter__`` yields the events
    (botocore's ``EventStream``): it is iterated once, on the first read.
    """

    def __init__(self, wrapped: Any, finalizer: StreamFinalizer) -> None:
        super().__init__(wrapped)
        self._self_finalizer = finalizer
        self._self_iterator: Any = wrapped if hasattr(wrapped, "__next__") else None
        _watch(self, finalizer)

    def __next__(self) -> Any:
        fin = self._self_finalizer
        while True:
            try:
                if self._self_iterator is None:
                    self._self_iterator = iter(self.__wrapped__)
                item = self._self_iterator.__next__()
            except StopIteration:
                fin.finish(None)
                raise
            except BaseException as exc:
                fin.finish(exc)
                raise
            fin.record(item)
            if not fin.hides(item):
                return item

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                try:
                    item = self.__next__()
                except StopIteration:
                    return
                yield item
        except GeneratorExit:  # the consumer broke out of its loop
            self._self_finalizer.finish(None)
            raise

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_finalizer.finish(None)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_finalizer.finish(None)


def _async_iterator(obj: Any) -> bool:
    """True for a real async iterator (aiobotocore's ``AioEventStream.__anext__`` is an
    async generator function, so the stream is only an async iterable)."""
    anext = getattr(type(obj), "__anext__", None)
    return anext is not None and not inspect.isasyncgenfunction(anext)


class AsyncStreamProxy(_Proxy):
    """An async SDK stream that completes its call exactly once.

    The stream is an async iterator, or an async iterable whose ``__aiter__`` yields the
    events (aiobotocore's ``AioEventStream``): it is iterated once, on the first read.
    """

    def __init__(self, wrapped: Any, finalizer: StreamFinalizer) -> None:
        super().__init__(wrapped)
        self._self_finalizer = finalizer
        self._self_iterator: Any = wrapped if _async_iterator(wrapped) else None
        _watch(self, finalizer)

    async def __anext__(self) -> Any:
        fin = self._self_finalizer
        while True:
            try:
                if self._self_iterator is None:
                    self._self_iterator = self.__wrapped__.__aiter__()
                item = await self._self_iterator.__anext__()
            except StopAsyncIteration:
                fin.finish(None)
                raise
            except BaseException as exc:
                fin.finish(exc)
                raise
            fin.record(item)
            if not fin.hides(item):
                return item

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            while True:
                try:
                    item = await self.__anext__()
                except StopAsyncIteration:
                    return
                yield item
        except GeneratorExit:
            self._self_finalizer.finish(None)
            raise

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_finalizer.finish(None)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_finalizer.finish(None)
