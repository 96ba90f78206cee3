"""Who pays for a unit: team, project, environment, customer and friends.

Attribution lives in a :mod:`contextvars` variable, so it is isolated per asyncio
task and per thread, and nests field by field (inner overrides outer)::

    with genops.attribution(team="support", project="helpdesk"):
        with genops.attribution(customer_id="acme"):
            ...  # team=support, project=helpdesk, customer_id=acme

It is also written to OpenTelemetry **baggage** (``genops.team`` …), so a service
that receives the request through a W3C propagator attributes its own calls to the
same team. Resolution order for each field: the innermost ``attribution()`` block,
then incoming baggage, then the defaults given to :func:`genops.init`.

Values are sanitised once, here at the edge, so every exporter downstream (OTLP
protobuf, the local store, Prometheus, audit JSON, W3C baggage headers) gets valid
UTF-8: lone surrogates and control characters become U+FFFD and values are cut to
:data:`MAX_VALUE_CHARS` characters. The first such value is logged once (a warning,
no traceback) and every one is counted (``genops.internal.errors``, place
``attribution.invalid_value``)::

    genops.Attribution(team="sup\ud800port").team == "sup\ufffdport"
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

from opentelemetry import baggage
from opentelemetry import context as otel_context

from genops import _safety
from genops import attributes as A

log = logging.getLogger("genops")

#: Longest attribution value kept; longer ones are cut (attribute and label size).
MAX_VALUE_CHARS = 256
_INVALID = re.compile("[\ud800-\udfff\x00-\x1f\x7f]")
_warned = threading.Event()


def clean_value(field: str, value: str) -> str:
    """``value`` as valid, bounded UTF-8 text (see module docs); unchanged when it is."""
    if len(value) <= MAX_VALUE_CHARS and _INVALID.search(value) is None:
        return value
    cleaned = _INVALID.sub("\ufffd", value)[:MAX_VALUE_CHARS]
    _safety.count_only("attribution.invalid_value")
    if not _warned.is_set():
        _warned.set()
        log.warning(
            "genops attribution field %r had a lone surrogate, a control character or "
            "more than %d characters: sanitised (U+FFFD, cut); further ones are counted, "
            "not logged",
            field,
            MAX_VALUE_CHARS,
        )
    return cleaned


@dataclass(frozen=True, slots=True)
class Attribution:
    """An immutable set of attribution fields; ``None`` means "not set here"."""

    team: str | None = None
    project: str | None = None
    environment: str | None = None
    customer_id: str | None = None
    feature: str | None = None
    cost_center: str | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(
                    f"attribution field {f.name!r} must be a str, got {type(value).__name__}"
                )
            if not value.strip():
                raise ValueError(f"attribution field {f.name!r} must not be empty")
            cleaned = clean_value(f.name, value)
            if cleaned is not value:
                object.__setattr__(self, f.name, cleaned)

    def over(self, base: Attribution) -> Attribution:
        """Return ``base`` with every field that is set here replacing base's."""
        changes = {
            name: getattr(self, name)
            for name in A.ATTRIBUTION_FIELDS
            if getattr(self, name) is not None
        }
        return replace(base, **changes) if changes else base

    def as_dict(self) -> dict[str, str]:
        """The fields that are set, by field name."""
        return {n: v for n in A.ATTRIBUTION_FIELDS if (v := getattr(self, n)) is not None}

    def span_attributes(self) -> dict[str, str]:
        """The fields that are set, keyed by their ``genops.*`` attribute names."""
        return {A.ATTRIBUTION_KEYS[n]: v for n, v in self.as_dict().items()}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, prefix: str = "") -> Attribution:
        """Build from ``{"team": ...}`` or, with ``prefix="genops."``, from baggage-style keys."""
        found: dict[str, str] = {}
        for name in A.ATTRIBUTION_FIELDS:
            value = values.get(prefix + name)
            if isinstance(value, str) and value.strip():
                found[name] = value
        return cls(**found)


EMPTY = Attribution()
_current: contextvars.ContextVar[Attribution] = contextvars.ContextVar(
    "genops_attribution", default=EMPTY
)


@contextmanager
def attribution(
    *,
    team: str | None = None,
    project: str | None = None,
    environment: str | None = None,
    customer_id: str | None = None,
    feature: str | None = None,
    cost_center: str | None = None,
    session_id: str | None = None,
    propagate: bool = True,
) -> Iterator[Attribution]:
    """Attribute every unit inside the block; nestable, async- and thread-safe.

    ``propagate=False`` keeps the values in this process (no baggage), e.g. for a
    customer id that must not leave it.

    Yields the effective (merged) explicit attribution of the block.
    """
    inner = Attribution(
        team=team,
        project=project,
        environment=environment,
        customer_id=customer_id,
        feature=feature,
        cost_center=cost_center,
        session_id=session_id,
    )
    merged = inner.over(_current.get())
    token = _current.set(merged)
    otel_token = None
    if propagate and inner.as_dict():
        ctx = otel_context.get_current()
        for key, value in inner.span_attributes().items():
            ctx = baggage.set_baggage(key, value, context=ctx)
        otel_token = otel_context.attach(ctx)
    try:
        yield merged
    finally:
        if otel_token is not None:
            otel_context.detach(otel_token)
        _current.reset(token)


def explicit_attribution() -> Attribution:
    """The attribution set by enclosing ``attribution()`` blocks in this context only."""
    return _current.get()


def baggage_attribution(context: otel_context.Context | None = None) -> Attribution:
    """Attribution carried in by OpenTelemetry baggage (e.g. from an upstream service)."""
    entries = baggage.get_all(context)
    if not entries:
        return EMPTY
    return Attribution.from_mapping(entries, prefix=A.BAGGAGE_PREFIX)


def resolve_attribution(defaults: Attribution = EMPTY) -> Attribution:
    """Effective attribution now: explicit block, then incoming baggage, then defaults."""
    explicit = _current.get()
    incoming = baggage_attribution()
    result = defaults
    if incoming is not EMPTY:
        result = incoming.over(result)
    if explicit is not EMPTY:
        result = explicit.over(result)
    return result
