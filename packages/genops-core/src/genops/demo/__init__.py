"""``genops demo``: an offline multi-team workload through every installed integration.

Each integration package contributes its scenarios through the entry point group
``genops.demo`` (a callable returning a list of :class:`Scenario`)::

    [project.entry-points."genops.demo"]
    llamaindex = "genops_llamaindex.demo:SCENARIOS"

A scenario drives the real framework against the loopback :class:`FakeProvider`
(``ctx.fake``) under ``genops.attribution(...)`` and reports what happened through
``ctx``; :func:`run` does the rest (policy, runtime, progress bar, tables).
"""

from genops.demo.fake_provider import FakeProvider
from genops.demo.registry import GROUP, DemoContext, Scenario, discover, register

__all__ = ["GROUP", "DemoContext", "FakeProvider", "Scenario", "discover", "register", "run"]


def run(*args: object, **kwargs: object) -> object:
    """Run the demo (see :func:`genops.demo.runner.run`)."""
    from genops.demo.runner import run as _run

    return _run(*args, **kwargs)  # type: ignore[arg-type]
