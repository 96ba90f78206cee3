"""Kit: a sync stream that is an iterable, not an iterator (botocore's EventStream)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from genops.adapter import StreamFinalizer, SyncStreamProxy


class _Events:
    """Iterable only: every ``iter()`` starts a generator, like botocore's EventStream."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[int]:
        yield from (1, 2, 3)

    def close(self) -> None:
        self.closed = True


class _Recorder:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def record(self, chunk: Any) -> None:
        self.seen.append(chunk)

    def outcome(self) -> list[Any]:
        return list(self.seen)


def test_iterable_stream_is_read_once_and_finished_once() -> None:
    finished: list[tuple[Any, Any]] = []
    recorder = _Recorder()
    events = _Events()
    proxy = SyncStreamProxy(events, StreamFinalizer(recorder, lambda o, e: finished.append((o, e))))
    assert next(proxy) == 1
    assert list(proxy) == [2, 3]  # the same iteration continues, not a new one
    assert finished == [([1, 2, 3], None)]
    proxy.close()
    assert events.closed and len(finished) == 1


def test_iterable_stream_broken_out_of_finishes() -> None:
    finished: list[Any] = []
    proxy = SyncStreamProxy(
        _Events(), StreamFinalizer(_Recorder(), lambda o, e: finished.append(o))
    )
    for _ in proxy:
        break
    assert finished == [[1]]
