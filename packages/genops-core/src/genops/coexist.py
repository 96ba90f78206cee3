"""Coexistence with GenAI telemetry that other libraries emit: usage counted once.

Some SDKs trace themselves (anthropic >= 2 emits a CLIENT span per API call, scope
``com.anthropic.sdk.python``, with ``gen_ai.usage.*``), and the official OpenTelemetry
GenAI instrumentations (``opentelemetry-instrumentation-genai-*`` on
``opentelemetry-util-genai``, ``opentelemetry-instrumentation-openai-v2``, …) do the
same. Beside genops, a backend summing ``gen_ai.usage.*`` over spans would count each
call twice. The rule genops keeps:

    exactly one span per provider call carries ``gen_ai.usage.*``: genops' unit.

The other library's span stays (HTTP status, request id, retries are worth keeping)
and nests next to the unit — the SDK layer makes the unit's span current while the
SDK sends, so the SDK's span is its **child**; an instrumentation that wraps the SDK
method outside genops' wrapper makes the unit its child instead. On that span
:class:`UsageOwner` drops every ``gen_ai.usage.*`` attribute and sets
``genops.usage.counted_on`` to the span id (hex) of the genops unit that carries the
usage. Which spans (generic, no SDK is named):

- a non-genops span started as a child of a genops cost-bearing (CLIENT) span;
- a non-genops CLIENT span started while a genops claim is current (a framework call
  whose SDK span could not be nested: genops-native is not enabled);
- a non-genops CLIENT span that is the parent of a genops cost-bearing span.

:func:`detect` lists the self-tracing GenAI telemetry installed (package metadata,
read once, at ``init``); :func:`install` adds the processor to the tracer provider
genops records to, once per provider, when something was detected::

    genops.coexist.detect()          # ('anthropic 2.14.0',)

A library that traces on a *different* tracer provider than genops' (e.g.
``anthropic.Anthropic(open_telemetry={"tracer_provider": other})``) is out of reach:
its spans keep their usage.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from genops import _safety
from genops import attributes as A
from genops.claims import current_claim

log = logging.getLogger("genops.coexist")

#: The instrumentation scope of genops' own spans.
SCOPE: Final = "genops"
_USAGE_PREFIX: Final = "gen_ai.usage."

#: Distributions that emit GenAI spans with usage of their own (name → minimum major
#: version; 0 = any). Every ``opentelemetry-instrumentation-genai-*`` package is built
#: on ``opentelemetry-util-genai``, so that one name finds them all.
_SELF_TRACING: Final = {
    "anthropic": 2,
    "opentelemetry-util-genai": 0,
    "opentelemetry-instrumentation-openai-v2": 0,
    "opentelemetry-instrumentation-openai": 0,
    "opentelemetry-instrumentation-anthropic": 0,
    "opentelemetry-instrumentation-google-genai": 0,
    "opentelemetry-instrumentation-vertexai": 0,
    "opentelemetry-instrumentation-langchain": 0,
    "opentelemetry-instrumentation-openai-agents-v2": 0,
    "openinference-instrumentation-openai": 0,
    "openinference-instrumentation-anthropic": 0,
}


def _major(version: str) -> int:
    match = re.match(r"\d+", version)
    return int(match.group()) if match else 0


@functools.lru_cache(maxsize=1)
def detect() -> tuple[str, ...]:
    """The installed GenAI telemetry that emits usage-bearing spans of its own, as
    ``"name version"`` (package metadata, read once per process)."""
    from genops import _installed

    installed = _installed.scan(entry_points=False)
    found: list[str] = []
    for name, minimum in _SELF_TRACING.items():
        version = installed.version(name)
        if version is None:
            continue
        if minimum and _major(version) < minimum:
            continue
        found.append(f"{name} {version}")
    return tuple(sorted(found))


def _genops_cost_span(span: Any) -> bool:
    scope = getattr(span, "instrumentation_scope", None)
    return (
        getattr(scope, "name", None) == SCOPE
        and getattr(span, "kind", None) is SpanKind.CLIENT
        and span.is_recording()
    )


def _strip_usage(span: Any, owner_id: int) -> None:
    """From now on the span takes no ``gen_ai.usage.*`` (its instance's setters are
    wrapped); the first one dropped sets ``genops.usage.counted_on``."""
    set_one = span.set_attribute
    set_many = span.set_attributes
    marker = {A.USAGE_COUNTED_ON: format(owner_id, "016x")}

    def set_attribute(key: str, value: Any) -> None:
        if key.startswith(_USAGE_PREFIX):
            set_many(marker)
        else:
            set_one(key, value)

    def set_attributes(attributes: Mapping[str, Any]) -> None:
        kept = {k: v for k, v in attributes.items() if not k.startswith(_USAGE_PREFIX)}
        set_many(kept if len(kept) == len(attributes) else {**kept, **marker})

    span.set_attribute = set_attribute
    span.set_attributes = set_attributes


class UsageOwner:
    """Span processor keeping ``gen_ai.usage.*`` on genops' unit only (see module doc)."""

    def on_start(self, span: Any, parent_context: Context | None = None) -> None:
        try:
            self._on_start(span, parent_context)
        except Exception as exc:
            _safety.report(exc, "coexistence span start")

    def _on_start(self, span: Any, parent_context: Context | None) -> None:
        parent = trace.get_current_span(parent_context)
        if getattr(getattr(span, "instrumentation_scope", None), "name", None) == SCOPE:
            if (
                span.kind is SpanKind.CLIENT
                and parent.is_recording()
                and getattr(parent, "kind", None) is SpanKind.CLIENT
                and getattr(getattr(parent, "instrumentation_scope", None), "name", None)
                not in (None, SCOPE)
            ):
                _strip_usage(parent, span.get_span_context().span_id)
            return
        if _genops_cost_span(parent):
            _strip_usage(span, parent.get_span_context().span_id)
            return
        if span.kind is SpanKind.CLIENT:
            claim = current_claim()
            if claim is not None:
                _strip_usage(span, claim.span.get_span_context().span_id)

    def on_end(self, span: Any) -> None:
        return None

    def _on_ending(self, span: Any) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


_installed: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()


def install(tracer_provider: Any, *, detected: tuple[str, ...] | None = None) -> bool:
    """Add :class:`UsageOwner` to ``tracer_provider`` (once per provider) when
    self-tracing GenAI telemetry is installed; True when the processor is in place."""
    found = detect() if detected is None else detected
    add = getattr(tracer_provider, "add_span_processor", None)
    if not found or not callable(add):
        return False
    with _lock:
        if tracer_provider in _installed:
            return True
        add(UsageOwner())
        _installed.add(tracer_provider)
    log.info(
        "genops: %s emit GenAI spans of their own; their gen_ai.usage.* moves to genops' "
        "unit (genops.usage.counted_on)",
        ", ".join(found),
    )
    return True


__all__ = ["SCOPE", "UsageOwner", "detect", "install"]
