"""The kit's stream base: a stream completes its call exactly once, however it ends."""

from __future__ import annotations

import gc

import pytest

from genops.adapter import AsyncStreamProxy, StreamFinalizer, SyncStreamProxy


class Stream:
    """An SDK-like sync stream: iterator, close(), context manager."""

    def __init__(self, chunks, fail_at=None):
        self._it = iter(chunks)
        self._n = 0
        self._fail_at = fail_at
        self.closed = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._n == self._fail_at:
            raise ConnectionError("dropped")
        self._n += 1
        return next(self._it)

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class AsyncStream:
    def __init__(self, chunks, fail_at=None):
        self._sync = Stream(chunks, fail_at)

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return next(self._sync)
        except StopIteration:
            raise StopAsyncIteration from None

    async def close(self):
        self._sync.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


class Sum:
    """A StreamRecorder: the outcome is the sum of the chunks seen."""

    def __init__(self):
        self.total = 0

    def record(self, chunk):
        self.total += chunk

    def outcome(self):
        return self.total


def make(proxy_cls, stream):
    done: list[tuple[object, object]] = []
    firsts: list[int] = []
    fin = StreamFinalizer(
        Sum(),
        lambda outcome, error: done.append((outcome, error)),
        on_first_chunk=lambda: firsts.append(1),
    )
    return proxy_cls(stream, fin), done, firsts


def test_exhausted_stream_completes_once_with_the_outcome():
    proxy, done, firsts = make(SyncStreamProxy, Stream([1, 2, 3]))
    assert list(proxy) == [1, 2, 3]
    proxy.close()
    assert done == [(6, None)] and firsts == [1]


def test_break_close_and_with_complete_once_with_what_was_seen():
    proxy, done, _ = make(SyncStreamProxy, Stream([1, 2, 3]))
    seen = []
    for chunk in proxy:
        seen.append(chunk)
        break
    assert seen == [1] and done == [(1, None)]

    proxy, done, _ = make(SyncStreamProxy, Stream([1, 2, 3]))
    next(proxy)
    proxy.close()
    assert done == [(1, None)] and proxy.__wrapped__.closed

    proxy, done, _ = make(SyncStreamProxy, Stream([5, 6]))
    with proxy as s:
        assert next(s) == 5
    assert done == [(5, None)]


def test_error_midway_completes_with_the_error_and_reraises_it():
    proxy, done, _ = make(SyncStreamProxy, Stream([1, 2, 3], fail_at=2))
    with pytest.raises(ConnectionError):
        list(proxy)
    assert len(done) == 1 and done[0][0] == 3 and isinstance(done[0][1], ConnectionError)


def test_never_consumed_stream_completes_when_garbage_collected():
    proxy, done, firsts = make(SyncStreamProxy, Stream([1]))
    del proxy
    gc.collect()
    assert done == [(0, None)] and firsts == []


def test_proxy_keeps_the_sdk_streams_api():
    stream = Stream([1])
    proxy, _, _ = make(SyncStreamProxy, stream)
    assert isinstance(proxy, Stream) and proxy.closed is False


async def test_async_stream_all_endings_complete_once():
    proxy, done, _ = make(AsyncStreamProxy, AsyncStream([1, 2]))
    assert [c async for c in proxy] == [1, 2]
    await proxy.close()
    assert done == [(3, None)]

    proxy, done, _ = make(AsyncStreamProxy, AsyncStream([1, 2]))
    async with proxy as s:
        assert await s.__anext__() == 1
    assert done == [(1, None)]

    proxy, done, _ = make(AsyncStreamProxy, AsyncStream([1, 2], fail_at=1))
    with pytest.raises(ConnectionError):
        async for _ in proxy:
            pass
    assert len(done) == 1 and isinstance(done[0][1], ConnectionError)


class AsyncIterableOnly:
    """aiobotocore's ``AioEventStream`` shape: ``__aiter__`` returns an async generator
    (its ``__anext__`` is an async generator function, not an awaitable)."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.iterated = 0

    def __aiter__(self):
        return self.__anext__()

    async def __anext__(self):
        self.iterated += 1
        for chunk in self._chunks:
            yield chunk


async def test_async_iterable_stream_is_iterated_once_and_completes_once():
    stream = AsyncIterableOnly([4, 5])
    proxy, done, firsts = make(AsyncStreamProxy, stream)
    assert [c async for c in proxy] == [4, 5]
    assert done == [(9, None)] and firsts == [1] and stream.iterated == 1
