"""Patching SDK resource classes (all clients) or one client's resources, undoably."""

from __future__ import annotations

import importlib
import logging
import threading
import types
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from genops_native._call import ORIGINAL, wrap_method
from genops_native._endpoint import Endpoint, Options

log = logging.getLogger("genops.native")

Maker = Callable[..., Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class Target:
    """One SDK method: where its class lives and where a client exposes the resource."""

    module: str
    cls: str
    method: str
    #: attribute path from a client to the resource (``chat.completions``).
    path: str
    endpoint: Endpoint
    is_async: bool
    make: Maker = wrap_method

    def resolve(self) -> type[Any]:
        cls = getattr(importlib.import_module(self.module), self.cls)
        if not isinstance(cls, type):
            raise ImportError(f"{self.module}.{self.cls} is not a class")
        return cls


class Instrumentation:
    """Handle returned by ``instrument_openai`` / ``instrument_anthropic``.

    ``uninstrument()`` restores exactly what was patched (idempotent). ``patched``
    lists the methods this handle wrapped, e.g. ``"Completions.create"``.
    """

    def __init__(self, sdk: str, scope: str, options: Options) -> None:
        self.sdk = sdk
        self.scope = scope
        self.options = options
        self.patched: list[str] = []
        self._undo: list[Callable[[], None]] = []
        self._forget: Callable[[], None] | None = None

    @property
    def active(self) -> bool:
        return bool(self._undo) or self._forget is not None

    def uninstrument(self) -> None:
        with _lock:
            undo, self._undo = self._undo, []
            forget, self._forget = self._forget, None
            for step in reversed(undo):
                step()
            self.patched = []
            if forget is not None:
                forget()

    def __repr__(self) -> str:
        return f"<genops_native.Instrumentation {self.sdk} {self.scope} patched={self.patched}>"


_lock = threading.RLock()
_by_scope: dict[tuple[str, str], Instrumentation] = {}
_by_client: weakref.WeakKeyDictionary[Any, Instrumentation] = weakref.WeakKeyDictionary()


def _patch_class(target: Target, options: Options, default: str) -> Callable[[], None] | None:
    cls = target.resolve()
    current = cls.__dict__.get(target.method)
    if current is None or hasattr(current, ORIGINAL):
        return None  # missing in this SDK version, or already governed by another handle
    wrapper = target.make(current, target.endpoint, options, default, is_async=target.is_async)
    setattr(cls, target.method, wrapper)

    def undo() -> None:
        if cls.__dict__.get(target.method) is wrapper:
            setattr(cls, target.method, current)

    return undo


def _patch_instance(
    client: Any, target: Target, options: Options, default: str
) -> Callable[[], None] | None:
    cls = target.resolve()
    resource = client
    for name in target.path.split("."):
        resource = getattr(resource, name, None)
        if resource is None:
            return None
    if not isinstance(resource, cls) or target.method in vars(resource):
        return None
    func = getattr(cls, target.method, None)
    if func is None:
        return None
    func = getattr(func, ORIGINAL, func)  # never wrap a class-level wrapper twice
    wrapper = target.make(func, target.endpoint, options, default, is_async=target.is_async)
    bound = types.MethodType(wrapper, resource)
    vars(resource)[target.method] = bound

    def undo() -> None:
        if vars(resource).get(target.method) is bound:
            del vars(resource)[target.method]

    return undo


def instrument(
    sdk: str,
    targets: Sequence[Target],
    client_or_class: Any,
    options: Options,
    *,
    default_provider: str,
    async_client_base: type[Any],
    client_base: type[Any],
) -> Instrumentation:
    """Shared body of ``instrument_openai`` / ``instrument_anthropic``."""
    with _lock:
        if client_or_class is None or isinstance(client_or_class, type):
            if client_or_class is None:
                scope, chosen = "all", list(targets)
            elif issubclass(client_or_class, async_client_base):
                scope, chosen = "async", [t for t in targets if t.is_async]
            elif issubclass(client_or_class, client_base):
                scope, chosen = "sync", [t for t in targets if not t.is_async]
            else:
                raise TypeError(
                    f"instrument_{sdk}() takes a client, a client class or nothing, "
                    f"got {client_or_class!r}"
                )
            key = (sdk, scope)
            existing = _by_scope.get(key)
            if existing is not None and existing.active:
                _warn_options(existing, options)
                return existing
            handle = Instrumentation(sdk, scope, options)
            for target in chosen:
                _add(handle, target, _patch_class(target, options, default_provider))
            _by_scope[key] = handle

            def forget_scope() -> None:
                _by_scope.pop(key, None)

            handle._forget = forget_scope
            return handle
        if not isinstance(client_or_class, client_base | async_client_base):
            raise TypeError(
                f"instrument_{sdk}() takes a client, a client class or nothing, "
                f"got {type(client_or_class).__name__}"
            )
        client = client_or_class
        existing = _by_client.get(client)
        if existing is not None and existing.active:
            _warn_options(existing, options)
            return existing
        handle = Instrumentation(sdk, f"client {type(client).__name__}", options)
        for target in targets:
            _add(handle, target, _patch_instance(client, target, options, default_provider))
        _by_client[client] = handle
        ref = weakref.ref(client)

        def forget() -> None:
            alive = ref()
            if alive is not None:
                _by_client.pop(alive, None)

        handle._forget = forget
        return handle


def _add(handle: Instrumentation, target: Target, undo: Callable[[], None] | None) -> None:
    if undo is not None:
        handle._undo.append(undo)
        handle.patched.append(f"{target.cls}.{target.method}")


def _warn_options(existing: Instrumentation, options: Options) -> None:
    if existing.options != options:
        log.warning(
            "genops: %s already instrumented (%s) with %s; new options %s ignored "
            "(uninstrument() first to change them)",
            existing.sdk,
            existing.scope,
            existing.options,
            options,
        )
