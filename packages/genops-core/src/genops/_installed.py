"""What is installed: entry points and versions, read straight from ``sys.path``.

``genops.init()`` needs two facts about the environment — the entry points of genops'
own groups (:mod:`genops.integrations`) and the versions of a dozen self-tracing
packages (:mod:`genops.coexist`). :mod:`importlib.metadata` would answer both, but
importing it costs 15–35 ms (zipfile, email, csv, pathlib) and each ``version()`` walks
the path again: more than the rest of init. This module reads the same files the way
its path finder does, in one listing of each ``sys.path`` folder:

- a distribution is a ``*.dist-info`` or ``*.egg-info`` entry of a folder on
  ``sys.path``; the first one of a (normalized) name wins, as in ``importlib.metadata``;
- its entry points are its ``entry_points.txt``, read only when it names a genops group;
- a version comes from the ``Version:`` field of ``METADATA`` / ``PKG-INFO``.

Anything this reader does not model — a zip archive or ``.egg`` on ``sys.path``, a meta
path finder that serves distributions of its own — makes it hand the question to
:mod:`importlib.metadata` itself, so the answer is never narrower than the standard one::

    installed = scan()
    installed.entry_points("genops.integrations")   # [EntryPoint(name='langchain', ...)]
    installed.version("anthropic")                  # '2.14.0' or None
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: entry point groups this reader collects (others are never parsed)
PREFIX = "genops."
_INFO = (".dist-info", ".egg-info")
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """A distribution name compared the PEP 503 way (``Foo_Bar`` = ``foo-bar``)."""
    return _SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """One entry point: ``name = value`` in ``group`` (``value`` = ``module:attr``)."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        """Import ``module`` and return ``attr`` of it (the module without ``:attr``)."""
        import importlib

        target = self.value.split("[", 1)[0].strip()  # drop "[extras]"
        module_name, _, attr = target.partition(":")
        found: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attr.strip().split(".")):
            found = getattr(found, part)
        return found


@dataclass(frozen=True, slots=True)
class Installed:
    """The distributions found, in ``sys.path`` order (first of a name wins)."""

    #: normalized name → metadata folder
    folders: dict[str, str]
    #: entry points of the genops groups
    points: tuple[EntryPoint, ...]
    #: normalized name → version, known up front (the importlib.metadata answer)
    versions: dict[str, str] = field(default_factory=dict)

    def entry_points(self, *groups: str) -> list[EntryPoint]:
        """The entry points of ``groups``, group by group, each in path order."""
        return [ep for group in groups for ep in self.points if ep.group == group]

    def version(self, name: str) -> str | None:
        """The installed version of distribution ``name``, or ``None``."""
        key = normalize(name)
        if key in self.versions:
            return self.versions[key]
        folder = self.folders.get(key)
        return None if folder is None else _read_version(folder)


def scan(*, entry_points: bool = True) -> Installed:
    """Read the distributions on ``sys.path`` now (``importlib.metadata`` when the path
    holds anything this reader does not model, see the module doc); with
    ``entry_points=False`` only the folders (for :meth:`Installed.version`)."""
    if not _plain_path():
        return _from_importlib_metadata()
    folders: dict[str, str] = {}
    points: list[EntryPoint] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as children:
                names = sorted(c.name for c in children if c.name.endswith(_INFO))
        except OSError:  # a missing folder (python311.zip, an old venv): nothing there
            continue
        for child in names:
            key = normalize(_distribution_name(child))
            if key in folders:
                continue
            folder = os.path.join(entry or ".", child)
            folders[key] = folder
            if entry_points:
                points.extend(_read_entry_points(folder))
    return Installed(folders, tuple(points))


def _plain_path() -> bool:
    """True when every distribution lives in a ``sys.path`` folder (no zip, no egg, no
    finder with distributions of its own)."""
    for entry in sys.path:
        if entry.endswith(".egg") or (entry and os.path.isfile(entry)):
            return False
    for finder in sys.meta_path:
        serves = getattr(finder, "find_distributions", None)
        if serves is not None and getattr(finder, "__name__", "") != "PathFinder":
            return False
    return True


def _distribution_name(folder_name: str) -> str:
    """``foo_bar-1.2.dist-info`` → ``foo_bar``; ``foo.egg-info`` → ``foo``."""
    stem = folder_name.rsplit(".", 1)[0]
    return stem.split("-", 1)[0]


def _read_entry_points(folder: str) -> Iterable[EntryPoint]:
    try:
        with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError):
        return ()
    if "[" + PREFIX not in text:
        return ()
    return parse_entry_points(text)


def parse_entry_points(text: str) -> list[EntryPoint]:
    """The genops-group entries of an ``entry_points.txt`` (INI: ``[group]``, then
    ``name = value`` lines; ``#`` comments — what importlib.metadata reads)."""
    found: list[EntryPoint] = []
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        name, sep, value = line.partition("=")
        if sep and group.startswith(PREFIX):
            found.append(EntryPoint(name.strip(), value.strip(), group))
    return found


def _read_version(folder: str) -> str | None:
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, file_name), encoding="utf-8") as file:
                for line in file:
                    if line.startswith("Version:"):
                        return line[len("Version:") :].strip()
                    if not line.strip():  # end of the headers
                        break
        except (OSError, UnicodeDecodeError):
            continue
    return None


def _from_importlib_metadata() -> Installed:
    """The same answer from :mod:`importlib.metadata` (its finders see everything)."""
    import importlib.metadata

    versions: dict[str, str] = {}
    points: list[EntryPoint] = []
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or normalize(name) in versions:
            continue
        versions[normalize(name)] = dist.version
        points.extend(
            EntryPoint(ep.name, ep.value, ep.group)
            for ep in dist.entry_points
            if ep.group.startswith(PREFIX)
        )
    return Installed({}, tuple(points), versions)
