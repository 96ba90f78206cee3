"""Demo scenarios: what one looks like, and how they are found."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Final

from genops.decision import PolicyViolationError
from genops.demo.fake_provider import FakeProvider

GROUP: Final = "genops.demo"
log = logging.getLogger("genops.demo")


@dataclass
class DemoContext:
    """What a scenario gets: the loopback provider and a place to report outcomes."""

    fake: FakeProvider
    advance: Callable[[], None] = lambda: None
    #: (scenario, policy name, reason code) of every blocked call
    blocked: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scenario: str = ""

    def step(self) -> None:
        """One unit of work done (moves the progress bar)."""
        self.advance()

    def note(self, text: str) -> None:
        """A line for the demo's story ("the provider received: ...")."""
        self.notes.append(f"{self.scenario}: {text}")

    @contextmanager
    def may_be_blocked(self) -> Iterator[list[PolicyViolationError]]:
        """Run a call a policy is expected to block; the error is recorded, not raised."""
        caught: list[PolicyViolationError] = []
        try:
            yield caught
        except PolicyViolationError as err:
            caught.append(err)
            self.blocked.append((self.scenario, err.policy_name or "-", str(err.reason_code)))


@dataclass(frozen=True)
class Scenario:
    """One team's workload through one integration.

    ``integration`` is the ``genops.integrations`` entry point it exercises, ``steps``
    the progress-bar length, ``models`` the models it calls (the demo policy approves
    them), ``run(ctx)`` the workload itself, ``requires`` the modules it needs beyond
    its package's own dependencies (e.g. ``("llama_index.llms.openai",)``): when one
    is not installed the scenario is left out, silently.
    """

    name: str
    integration: str
    team: str
    description: str
    steps: int
    run: Callable[[DemoContext], None]
    models: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()

    @property
    def installed(self) -> bool:
        """True when every module in ``requires`` can be imported."""
        return all(_importable(name) for name in self.requires)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package is missing
        return False


_registered: list[Scenario] = []


def register(scenario: Scenario) -> Scenario:
    """Add a scenario at runtime (packages normally use the entry point)."""
    _registered.append(scenario)
    return scenario


def discover() -> list[Scenario]:
    """Every scenario of the installed integrations, in entry point name order.

    An entry point names a list of :class:`Scenario` or a callable returning one; an
    ``ImportError`` while loading or calling it, or a missing ``requires`` module,
    leaves the scenarios out (that framework is not installed)."""
    found: list[Scenario] = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            loaded = ep.load()
            found.extend(loaded() if callable(loaded) else loaded)
        except ImportError as exc:  # the framework is not installed: no scenario
            log.debug("demo scenarios %s skipped: %s", ep.name, exc)
    return [s for s in (*found, *_registered) if s.installed]
