"""The ledger contract: where budget consumption and in-flight reservations live.

A ledger stores, per budget key, integer amounts (the policy layer scales money to
integer nano-dollars and counts tokens/requests as they are) in two places:

- **consumption buckets** — settled amounts per window bucket (``"2026-11"``,
  ``"2026-11-28"``, ``"total"``, rolling sub-buckets);
- **reservations** — in-flight estimates that expire after a TTL, so a crashed
  call never leaks budget.

One :meth:`Ledger.reserve` call checks and reserves *all* claims of a unit
atomically (all or nothing), which is what keeps N processes from overspending
by more than the reservations in flight::

    ledger = open_ledger("sqlite:///var/lib/genops/ledger.db")
    claim = Claim(key="support-monthly|team=support", limit=100 * NANOS, amount=2 * NANOS // 100,
                  bucket="2026-11", buckets=("2026-11",), keep_for=40 * 86400)
    outcome = ledger.reserve([claim], ttl=300, now=time.time())
    if isinstance(outcome, Reservation):
        ...  # run the call
        ledger.settle(outcome, [actual_nanos], now=time.time())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: Scale of money amounts in ledgers: integer nano-dollars (exact up to ~9 million USD
#: per bucket sum on Redis, whose Lua numbers are doubles; unlimited on SQLite/memory).
NANOS = 1_000_000_000

#: Largest amount a claim, limit or settlement may carry (2**53 - 1: exact in every
#: ledger, Redis' Lua doubles included — about 9 million USD in nano-dollars, or
#: 9e15 tokens). Larger amounts are clamped to it, so an absurd estimate is denied by
#: any budget instead of overflowing a ledger.
MAX_AMOUNT = 2**53 - 1


def bounded(amount: int) -> int:
    """``amount`` clamped to ``0..MAX_AMOUNT``."""
    return min(max(int(amount), 0), MAX_AMOUNT)


class LedgerUnavailable(RuntimeError):
    """The ledger could not be reached or answered with an error (network, lock, disk).

    Budget policies turn it into their ``on_ledger_error`` behaviour
    (``x_ledger_unavailable``); the ledger reconnects by itself on the next call.
    """


def unavailable(where: str, exc: BaseException) -> LedgerUnavailable:
    """A :class:`LedgerUnavailable` for ``where`` whose text never carries a credential."""
    from genops.scrub import scrub_secrets

    return LedgerUnavailable(f"{where}: {scrub_secrets(str(exc))}")


@dataclass(frozen=True, slots=True)
class Claim:
    """One budget (or rate limit) a unit draws on.

    - ``key`` identifies the budget instance (policy name + ``per`` values);
    - ``limit``/``amount`` are scaled integers;
    - ``bucket`` receives the settled amount; ``buckets`` are summed for the
      consumed figure (one for calendar windows, several for rolling ones);
    - ``keep_for`` seconds: how long the current bucket must be kept (None: forever);
    - ``enforce``: when False the limit is not checked (WARNING enforcement), the
      amount is still reserved and the claim reports whether it went over;
    - ``commit``: the amount is added to consumption at once (rate-limit counters)
      instead of being reserved.
    """

    key: str
    limit: int
    amount: int
    bucket: str
    buckets: tuple[str, ...]
    keep_for: float | None = None
    enforce: bool = True
    commit: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", bounded(self.limit))
        object.__setattr__(self, "amount", bounded(self.amount))


@dataclass(frozen=True, slots=True)
class Position:
    """Where one budget key stands: settled consumption and live reservations."""

    consumed: int
    reserved: int
    limit: int

    @property
    def committed(self) -> int:
        """Consumed plus reserved: what is no longer available."""
        return self.consumed + self.reserved

    @property
    def remaining(self) -> int:
        """What is still available (never below zero)."""
        return max(self.limit - self.committed, 0)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A successful reservation: settle it or release it (or let it expire)."""

    id: str
    claims: tuple[Claim, ...]
    expires_at: float
    #: Positions right after the reservation, one per claim.
    positions: tuple[Position, ...]
    #: For non-enforced claims: True when this reservation went over the limit.
    over: tuple[bool, ...]


@dataclass(frozen=True, slots=True)
class Denied:
    """Nothing was reserved: ``failed`` are the indexes of the enforced claims that
    did not fit; ``positions`` are every claim's position before the attempt."""

    failed: tuple[int, ...]
    positions: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class Settled:
    """Positions after settlement; ``found`` is False when the reservation had expired."""

    positions: tuple[Position, ...]
    found: bool


@runtime_checkable
class Ledger(Protocol):
    """Budget storage. Implementations are thread-safe; ``now`` is the caller's clock
    (epoch seconds), so windows and reservation expiry follow an injected clock.

    Every method raises :class:`LedgerUnavailable` (and nothing else) when the
    backend fails.
    """

    url: str

    def reserve(self, claims: Sequence[Claim], *, ttl: float, now: float) -> Reservation | Denied:
        """Check every enforced claim and reserve all of them, atomically."""
        ...

    def settle(self, reservation: Reservation, actuals: Sequence[int], *, now: float) -> Settled:
        """Replace the reservation by the actual amounts (one per claim)."""
        ...

    def release(self, reservation: Reservation, *, now: float) -> None:
        """Drop the reservation without charging anything."""
        ...

    def usage(self, key: str, buckets: Sequence[str], limit: int, *, now: float) -> Position:
        """The position of ``key`` over ``buckets`` (live reservations included)."""
        ...

    def mark_once(self, marker: str, *, keep_for: float | None, now: float) -> bool:
        """Set ``marker`` if it is not set; True for the one caller that set it (across
        every process sharing the ledger). It lives ``keep_for`` seconds (None: forever).
        Budget alerts use it to fire each threshold once per budget instance and window.
        """

    def keys(self, prefix: str = "") -> list[str]:
        """Every key the ledger holds consumption or live reservations for that starts
        with ``prefix``, sorted (``genops budgets`` lists budget instances from them)."""
        ...

    def close(self) -> None:
        """Release connections/files."""
        ...


def fits(committed: int, amount: int, limit: int) -> bool:
    """The admission rule: the amount fits in what is left, and an exhausted budget
    admits nothing — not even a zero-cost unit (a workflow step, an agent turn)."""
    return committed + amount <= limit and committed < limit


def decide(positions: Sequence[Position], claims: Sequence[Claim]) -> tuple[int, ...]:
    """Indexes of enforced claims that do not :func:`fit <fits>` (shared by the
    SQL and memory ledgers; the Redis script implements the same rule server-side)."""
    return tuple(
        i
        for i, (c, p) in enumerate(zip(claims, positions, strict=True))
        if c.enforce and not fits(p.committed, c.amount, c.limit)
    )
