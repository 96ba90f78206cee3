"""Policies on what units *did*: SLA latency boundaries and evaluation minimums.

Both keep, per process, a window of recent samples per scope key (the ``per`` fields,
like a budget's key), fed after units finish (:mod:`genops.sla`) or after an
evaluation is recorded (:mod:`genops.evaluation`), and read before the next unit runs::

    SlaPolicy("chat-premium", tier="premium", latency_target_ms=2000,
              scope={"team": "support"}, enforcement="BLOCKED", window="5m", per=["model"])
    EvaluationPolicy("grounded", metric="faithfulness", min_pass_rate=0.9,
                     window="1h", min_samples=20, per=["model"])

With ``BLOCKED`` enforcement the next units of a key are blocked while its window is
over the line (p95 latency above target; pass rate or mean score below the minimum).
Blocked units add no samples, so a key recovers when its bad samples age out of the
window (after at most ``window``): then calls flow again and the window is re-learned
— a circuit breaker, not a ban. Windows are in-process (each worker decides from what
it saw) and survive a policy reload when the rule's name and window settings are
unchanged.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from genops.decision import X_EVALUATION_BELOW_MINIMUM, DecisionResult, PolicyDecision, ReasonCode
from genops.policy.base import Enforcement, UnitRequest
from genops.policy.budget import _per
from genops.policy.rules import _Rule, request_field
from genops.policy.windows import parse_duration

#: Samples kept per key at most (the oldest go first).
MAX_SAMPLES = 1000


@dataclass(frozen=True, slots=True)
class SLA:
    """A latency boundary (spec §6.3): ``tier`` is yours to name, the target is in ms.

    ::

        with genops.governed("reply", model="gpt-4o-mini",
                             sla=genops.SLA("premium", latency_target_ms=2000)): ...
    """

    tier: str
    latency_target_ms: int

    def __post_init__(self) -> None:
        if not isinstance(self.tier, str) or not self.tier.strip():
            raise ValueError("SLA tier must be a non-empty string")
        target = self.latency_target_ms
        if isinstance(target, bool) or not isinstance(target, int) or target <= 0:
            raise ValueError(f"latency_target_ms must be a positive integer, got {target!r}")


class SampleWindow:
    """Recent numeric samples of one key within ``seconds``: sorted, for percentiles and
    means in O(log n) per sample (thread-safe)."""

    __slots__ = ("_lock", "_order", "_seconds", "_sorted", "_sum")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._order: deque[tuple[float, float]] = deque()
        self._sorted: list[float] = []
        self._sum = 0.0
        self._lock = threading.Lock()

    def add(self, now: float, value: float) -> None:
        with self._lock:
            self._order.append((now, value))
            bisect.insort(self._sorted, value)
            self._sum += value
            if len(self._order) > MAX_SAMPLES:
                self._drop()
            self._expire(now)

    def _drop(self) -> None:
        _, value = self._order.popleft()
        del self._sorted[bisect.bisect_left(self._sorted, value)]
        self._sum -= value

    def _expire(self, now: float) -> None:
        horizon = now - self._seconds
        while self._order and self._order[0][0] <= horizon:
            self._drop()

    def stats(self, now: float, percentile: float) -> tuple[int, float, float]:
        """``(samples, percentile value, mean)`` of the live samples (0s when empty)."""
        with self._lock:
            self._expire(now)
            n = len(self._sorted)
            if not n:
                return 0, 0.0, 0.0
            rank = max(math.ceil(percentile / 100 * n) - 1, 0)  # nearest-rank
            return n, self._sorted[rank], self._sum / n


class _Windows:
    """Every key's window of one rule (shared with its successor across reloads)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.by_key: dict[tuple[str | None, ...], SampleWindow] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple[str | None, ...]) -> SampleWindow | None:
        return self.by_key.get(key)

    def add(self, key: tuple[str | None, ...], now: float, value: float) -> None:
        window = self.by_key.get(key)
        if window is None:
            with self.lock:
                window = self.by_key.setdefault(key, SampleWindow(self.seconds))
        window.add(now, value)


class _WindowRule(_Rule):
    """Shared parts: per-key windows, ``min_samples``, the clock, reload adoption."""

    def __init__(
        self,
        name: str,
        *,
        window: str | float = "5m",
        min_samples: int = 20,
        per: str | Sequence[str] | None = None,
        clock: Callable[[], float] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise ValueError("min_samples must be a positive integer")
        self.window_seconds = parse_duration(window)
        self.min_samples = min_samples
        self.per = _per(per)
        self.clock = clock or time.monotonic
        self._windows = _Windows(self.window_seconds)

    def key(self, request: UnitRequest) -> tuple[str | None, ...]:
        return tuple(request_field(request, f) for f in self.per)

    def observe(self, request: UnitRequest, value: float) -> None:
        """Add one sample for the request's key (``now`` from the rule's clock)."""
        self._windows.add(self.key(request), self.clock(), value)

    def window_stats(self, request: UnitRequest, percentile: float) -> tuple[int, float, float]:
        window = self._windows.get(self.key(request))
        if window is None:
            return 0, 0.0, 0.0
        return window.stats(self.clock(), percentile)

    def adopt(self, previous: object) -> None:
        """Keep ``previous``'s samples (a policy reload) when it is the same rule: same
        type, name, ``per`` and window length."""
        if (
            type(previous) is type(self)
            and isinstance(previous, _WindowRule)
            and previous.name == self.name
            and previous.per == self.per
            and previous.window_seconds == self.window_seconds
        ):
            self._windows = previous._windows


class SlaPolicy(_WindowRule):
    """An SLA boundary for the units in ``scope`` (policy type ``sla``).

    Every unit in scope carries the four ``genops.sla.*`` attributes; a unit over its
    target gets a ``WARNING`` decision event with ``SLA_LATENCY_VIOLATION`` after it
    ran (a call that already ran is never blocked). Enforcement ``BLOCKED`` adds a
    pre-execution check: while the key's recent ``percentile`` latency (p95 by default,
    over at least ``min_samples`` units in ``window``) is over the target, the next
    units are BLOCKED with ``SLA_LATENCY_VIOLATION``. Default enforcement: WARNING.
    """

    #: True once any SlaPolicy exists in the process: until then units skip the rule look-up
    built: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        tier: str,
        latency_target_ms: int,
        *,
        percentile: float = 95.0,
        enforcement: Enforcement | str = Enforcement.WARNING,
        **common: Any,
    ) -> None:
        super().__init__(name, enforcement=enforcement, **common)
        self.sla = SLA(tier, latency_target_ms)
        if isinstance(percentile, bool) or not 0 < float(percentile) <= 100:
            raise ValueError("percentile must be in (0, 100]")
        self.percentile = float(percentile)
        SlaPolicy.built = True

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        if self.enforcement is not Enforcement.BLOCKED:
            return None  # decides after the unit ran (genops.sla)
        n, value, _ = self.window_stats(request, self.percentile)
        target = self.sla.latency_target_ms
        if n < self.min_samples or value <= target:
            return self.allow
        return self.deny(
            ReasonCode.SLA_LATENCY_VIOLATION,
            f"recent p{self.percentile:g} latency {value:.0f} ms over the {self.sla.tier} "
            f"target {target} ms ({n} units in {self.window_seconds:g}s)",
        )


class EvaluationPolicy(_WindowRule):
    """A minimum evaluation result for the units in ``scope`` (policy type ``evaluation``).

    Fed by :func:`genops.record_evaluation` for ``metric``: ``min_pass_rate`` (a
    fraction; evaluations with ``passed`` known) or ``min_score`` (the mean score). While
    a key's window (at least ``min_samples`` evaluations in ``window``) is below it,
    the next units are BLOCKED (or WARNING) with ``x_evaluation_below_minimum``.
    """

    def __init__(
        self,
        name: str,
        metric: str,
        *,
        min_pass_rate: float | None = None,
        min_score: float | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        if not isinstance(metric, str) or not metric.strip():
            raise ValueError("metric must be a non-empty string")
        if (min_pass_rate is None) == (min_score is None):
            raise ValueError("an evaluation policy needs exactly one of min_pass_rate, min_score")
        if min_pass_rate is not None and not 0 < float(min_pass_rate) <= 1:
            raise ValueError("min_pass_rate must be a fraction in (0, 1]")
        if min_score is not None and not math.isfinite(float(min_score)):
            raise ValueError("min_score must be a finite number")
        self.metric = metric
        self.min_pass_rate = None if min_pass_rate is None else float(min_pass_rate)
        self.min_score = None if min_score is None else float(min_score)

    def sample(self, score: float, passed: bool | None) -> float | None:
        """The value this rule keeps for one evaluation (None: not usable by it)."""
        if self.min_pass_rate is not None:
            return None if passed is None else float(passed)
        return score

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        n, _, mean = self.window_stats(request, 50.0)
        if n < self.min_samples:
            return self.allow
        if self.min_pass_rate is not None:
            if mean >= self.min_pass_rate:
                return self.allow
            what = f"pass rate {mean:.1%} below {self.min_pass_rate:.1%}"
        else:
            assert self.min_score is not None
            if mean >= self.min_score:
                return self.allow
            what = f"mean score {mean:g} below {self.min_score:g}"
        return self.deny(
            X_EVALUATION_BELOW_MINIMUM,
            f"{self.metric} {what} ({n} evaluations in {self.window_seconds:g}s)",
            DecisionResult.BLOCKED,
        )
