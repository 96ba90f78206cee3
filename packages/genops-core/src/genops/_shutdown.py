"""Bounded shutdown: genops' own durable state first, then telemetry, never past a deadline.

``genops.shutdown()`` (and the interpreter exit hook) run, in order:

1. disable integrations;
2. close the policy engine — flush the audit sink, close the ledger;
3. flush the local spend store;
4. flush and shut down the OTel providers genops built (network exporters).

Each step runs on a daemon thread joined against what is left of the one deadline
(``init(shutdown_timeout=5.0)`` / ``GENOPS_SHUTDOWN_TIMEOUT``). A step still running at
the deadline is abandoned (its daemon thread dies with the process) and reported in
one log line; the steps after it still get their turn only if time remains.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Final

log = logging.getLogger("genops")

DEFAULT_TIMEOUT: Final = 5.0
ENV_SHUTDOWN_TIMEOUT: Final = "GENOPS_SHUTDOWN_TIMEOUT"


def parse_timeout(value: str | float | None) -> float:
    """Seconds from ``init(shutdown_timeout=...)`` or its environment variable (> 0)."""
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"shutdown_timeout must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ValueError(f"shutdown_timeout must be > 0 seconds, got {value!r}")
    return seconds


class Deadline:
    """Runs shutdown steps until ``seconds`` have passed in total."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.abandoned: list[str] = []

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def run(self, name: str, step: Callable[[], object]) -> bool:
        """Run ``step``; False (and logged once) if it did not finish in time."""
        left = self.remaining()
        if left <= 0:
            self.abandoned.append(name)
            return False
        errors: list[BaseException] = []

        def target() -> None:
            try:
                step()
            except BaseException as exc:  # reported below, on the caller's thread
                errors.append(exc)

        worker = threading.Thread(target=target, name=f"genops-shutdown-{name}", daemon=True)
        worker.start()
        worker.join(left)
        if worker.is_alive():
            self.abandoned.append(name)
            return False
        if errors:
            raise errors[0]
        return True

    def report(self) -> None:
        if self.abandoned:
            log.warning(
                "genops: shutdown stopped waiting after %.1f s (%s not finished: collector "
                "unreachable?); set GENOPS_SHUTDOWN_TIMEOUT to wait longer",
                self.seconds,
                ", ".join(self.abandoned),
            )
