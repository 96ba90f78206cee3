"""Budget and rate-limit windows: which bucket a charge goes to, and which count.

    w = Window.parse("monthly", timezone="Europe/Berlin")
    w.current(now)   # Slot(bucket='2026-11', buckets=('2026-11',), keep_for=..., period='2026-11')
    Window.parse("rolling:1h").current(now).buckets   # 21 sub-buckets of 3 minutes

Calendar windows (``daily``, ``weekly`` = ISO week from Monday, ``monthly``) are
aligned to midnight in the configured IANA timezone (default UTC); ``total``
never resets. ``rolling:<duration>`` is a sliding window approximated by
:data:`ROLLING_SLICES` sub-buckets: a charge counts for between 1× and
1 + 1/ROLLING_SLICES × the duration (it errs on the side of counting). Durations
are ``90s``, ``15m``, ``1h30m``, ``7d``, ``2w``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

#: A clock returns the current time as epoch seconds (``time.time`` by default).
Clock = Callable[[], float]

_UTC: tzinfo = UTC
ROLLING_SLICES = 20
#: Calendar buckets are kept this long after their window ends (for late settlements).
GRACE_SECONDS = 2 * 86400.0

CALENDAR = ("daily", "weekly", "monthly", "total")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float) -> float:
    """Seconds in ``"90s"``, ``"1h30m"``, ``"7d"`` (a bare number is seconds)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"a duration must be a string like '30s', '5m', '1h', '7d'; got {text!r}")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        compact = text.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", compact):
            seconds = float(compact)
        else:
            parts = _DURATION_RE.findall(compact)
            if not parts or "".join(n + u for n, u in parts) != compact:
                raise ValueError(
                    f"invalid duration {text!r}: use a number with a unit ms, s, m, h, d, w "
                    "(e.g. '30s', '1h30m', '7d')"
                )
            seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"a duration must be positive and finite; got {text!r}")
    return seconds


def parse_timezone(name: str) -> tzinfo:
    """An IANA timezone (``"UTC"``, ``"Europe/Berlin"``), with a helpful error (``"UTC"``
    is :data:`datetime.UTC`: no tz database read, no zoneinfo import)."""
    if not isinstance(name, str) or not name or ".." in name or name.startswith("/"):
        raise ValueError(
            f"timezone must be an IANA name like 'UTC' or 'Europe/Berlin'; got {name!r}"
        )
    if name == "UTC":
        return _UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # (only for a named timezone)

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(
            f"unknown timezone {name!r} (use an IANA name like 'Europe/Berlin')"
        ) from exc


@dataclass(frozen=True, slots=True)
class Slot:
    """The window position at one instant."""

    bucket: str  #: where a charge made now goes
    buckets: tuple[str, ...]  #: whose sum is the consumption of the window
    keep_for: float | None  #: seconds the current bucket must live (None: forever)
    period: str  #: the genops.budget.period value


@dataclass(frozen=True, slots=True)
class _Cached:
    start: float
    end: float
    slot: Slot


@dataclass(frozen=True, slots=True)
class Window:
    """A parsed window specification; :meth:`current` maps an instant to its slot.

    The last slot computed is cached (windows change at most once per sub-bucket),
    so the per-call cost is a comparison, not a timezone conversion.
    """

    kind: str  # daily | weekly | monthly | total | rolling
    seconds: float = 0.0  # rolling only
    tz: tzinfo = _UTC
    _cache: list[_Cached] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def parse(cls, spec: str, *, timezone: str = "UTC") -> Window:
        """``daily``, ``weekly``, ``monthly``, ``total`` or ``rolling:<duration>``."""
        if not isinstance(spec, str):
            raise ValueError(
                f"window must be one of {', '.join(CALENDAR)} or 'rolling:<duration>'; got {spec!r}"
            )
        tz = parse_timezone(timezone)
        text = spec.strip().lower()
        if text in CALENDAR:
            return cls(text, tz=tz)
        if text.startswith("rolling:"):
            return cls("rolling", parse_duration(text[len("rolling:") :]), tz)
        raise ValueError(
            f"window must be one of {', '.join(CALENDAR)} or 'rolling:<duration>'; got {spec!r}"
        )

    @property
    def name(self) -> str:
        """The window as written (``"monthly"``, ``"rolling:3600s"``)."""
        return f"rolling:{self.seconds:g}s" if self.kind == "rolling" else self.kind

    def current(self, now: float) -> Slot:
        """The slot containing ``now`` (epoch seconds)."""
        if self.kind == "total":
            return _TOTAL
        cache = self._cache
        if cache:
            hit = cache[0]
            if hit.start <= now < hit.end:
                if self.kind == "rolling":
                    return hit.slot
                s = hit.slot
                return Slot(s.bucket, s.buckets, hit.end - now + GRACE_SECONDS, s.period)
        if self.kind == "rolling":
            size = self.seconds / ROLLING_SLICES
            index = math.floor(now / size)
            buckets = tuple(f"r{size:g}:{i}" for i in range(index - ROLLING_SLICES, index + 1))
            slot = Slot(buckets[-1], buckets, self.seconds + 2 * size, self.name)
            cache[:] = [_Cached(index * size, (index + 1) * size, slot)]
            return slot
        local = datetime.fromtimestamp(now, self.tz)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        if self.kind == "daily":
            start, end = day, day + timedelta(days=1)
            bucket = start.strftime("%Y-%m-%d")
        elif self.kind == "weekly":
            start = day - timedelta(days=day.weekday())
            end = start + timedelta(days=7)
            iso = start.isocalendar()
            bucket = f"{iso.year}-W{iso.week:02d}"
        else:
            start = day.replace(day=1)
            end = (start + timedelta(days=32)).replace(day=1)
            bucket = start.strftime("%Y-%m")
        start_ts = start.replace(tzinfo=self.tz).timestamp()
        end_ts = end.replace(tzinfo=self.tz).timestamp()
        slot = Slot(bucket, (bucket,), max(end_ts - now, 0.0) + GRACE_SECONDS, bucket)
        cache[:] = [_Cached(start_ts, end_ts, slot)]
        return slot


_TOTAL = Slot("total", ("total",), None, "total")


def system_clock() -> float:
    """The default clock."""
    return time.time()


class ManualClock:
    """A clock for tests: ``clock.advance(3600)`` instead of sleeping.

    clock = ManualClock(datetime(2026, 1, 31, 23, 59, tzinfo=UTC).timestamp())
    engine = Engine(policies, clock=clock)
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds

    def set(self, when: datetime | float) -> None:
        """Jump to an instant (an aware datetime or epoch seconds)."""
        self.now = when.timestamp() if isinstance(when, datetime) else float(when)
