"""A circuit breaker around a ledger: when it is down, fail fast instead of waiting.

    ledger = GuardedLedger(open_ledger("redis://cache:6379/0"), retry_after=5.0)

After a :class:`LedgerUnavailable`, calls fail immediately (same exception) for
``retry_after`` seconds of ``clock``, so an unreachable Redis/PostgreSQL adds its
connect timeout to one call, not to every call. The next call after that window
tries the backend again (whose client reconnects by itself). Failures are logged
at most once a minute, and the recovery once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from genops.ledger.base import (
    Claim,
    Denied,
    Ledger,
    LedgerUnavailable,
    Position,
    Reservation,
    Settled,
)

log = logging.getLogger("genops")
T = TypeVar("T")


class GuardedLedger:
    """A :class:`~genops.ledger.base.Ledger` that wraps another with a circuit breaker."""

    def __init__(
        self, ledger: Ledger, *, retry_after: float = 5.0, clock: Callable[[], float]
    ) -> None:
        if not retry_after >= 0:
            raise ValueError("retry_after must be >= 0 seconds")
        self.inner = ledger
        from genops.scrub import safe_url  # (scrub loads only where it is used)

        self.url = safe_url(ledger.url)
        self.retry_after = float(retry_after)
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = float("-inf")
        self._last_error: LedgerUnavailable | None = None
        self._last_log = float("-inf")
        #: Failures seen (calls refused by the open breaker included).
        self.failures = 0
        #: Calls refused without trying the backend (the breaker was open).
        self.refused = 0

    def _call(self, fn: Callable[[], T]) -> T:
        now = self._clock()
        if now < self._open_until:
            with self._lock:
                self.failures += 1
                self.refused += 1
            raise LedgerUnavailable(
                f"ledger {self.url} unavailable, retrying after {self.retry_after:g}s: "
                f"{_scrubbed(self._last_error)}"
            )
        try:
            result = fn()
        except LedgerUnavailable as exc:
            with self._lock:
                self.failures += 1
                self._open_until = now + self.retry_after
                self._last_error = exc
                should_log = now - self._last_log >= 60
                if should_log:
                    self._last_log = now
            if should_log:
                log.warning(
                    "genops ledger unavailable (%d failures): %s",
                    self.failures,
                    _scrubbed(exc),
                )
            raise
        if self._last_error is not None:
            with self._lock:
                recovered, self._last_error = self._last_error is not None, None
            if recovered:
                log.warning("genops ledger %s is reachable again", self.url)
        return result

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        return self._call(lambda: self.inner.reserve(claims, ttl=ttl, now=now))

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        return self._call(lambda: self.inner.settle(reservation, actuals, now=now))

    def release(self, reservation: Reservation, *, now: float) -> None:
        self._call(lambda: self.inner.release(reservation, now=now))

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        return self._call(lambda: self.inner.usage(key, buckets, limit, now=now))

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        mark = getattr(self.inner, "mark_once", None)
        if mark is None:  # a custom ledger without markers: once per process
            return True
        return self._call(lambda: bool(mark(marker, keep_for=keep_for, now=now)))

    def keys(self, prefix: str = "") -> list[str]:
        return self._call(lambda: self.inner.keys(prefix))

    def close(self) -> None:
        self.inner.close()


def _scrubbed(error: BaseException | None) -> str:
    from genops.scrub import scrub_secrets

    return scrub_secrets(str(error))
