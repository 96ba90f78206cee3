"""Prices: user overrides first, then the ``genai-prices`` data; arithmetic done here.

A (provider, model) pair is resolved **once** to a :class:`ModelPricing` and cached;
each call then costs a few Decimal multiplications (``genai_prices.calc_price`` costs
~200 µs a call). The arithmetic follows genai-prices' own: input tokens include cache
tokens, which are billed at their own rate when the model has one; reasoning tokens
are part of output tokens unless the model prices them separately; tiered prices
switch on total input tokens.

Overrides (YAML or dict), per-million-token USD prices::

    prices:
      - provider: openai
        model: "ft:gpt-4o-mini:*"        # fnmatch glob
        input: 0.30
        output: 1.20
        cache_read: 0.15
        effective_from: 2026-01-01       # optional; the newest active entry wins
      - model: "*"
        input: 3.00
        output: 15.00
        estimate: true                   # only an estimate: see genops.price_estimate
"""

from __future__ import annotations

import atexit
import fnmatch
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

from genops.usage import Usage

log = logging.getLogger("genops.pricing")

_MILLION = Decimal(1_000_000)
_THOUSAND = Decimal(1000)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Tiered:
    """Cliff-tiered price: ``base`` until total input tokens exceed a tier's start."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...]

    def rate(self, total_input_tokens: int) -> Decimal:
        for start, price in reversed(self.tiers):
            if total_input_tokens > start:
                return price
        return self.base


Rate = Decimal | Tiered


def _rate(rate: Rate | None, total_input: int) -> Decimal | None:
    if rate is None:
        return None
    if isinstance(rate, Tiered):
        return rate.rate(total_input)
    return rate


@dataclass(frozen=True, slots=True)
class ModelPricing:
    """Per-million-token USD rates of one model at one provider, resolved once."""

    provider: str
    model: str
    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    reasoning: Rate | None = None
    per_request: Decimal | None = None  # USD per request
    source: str = "override"
    version: str = ""

    def cost(self, usage: Usage) -> Decimal:
        """USD cost of ``usage`` under these rates (exact Decimal arithmetic)."""
        total_in = usage.input_tokens
        input_rate = _rate(self.input, total_in) or _ZERO
        read_rate = _rate(self.cache_read, total_in)
        write_rate = _rate(self.cache_write, total_in)
        uncached = total_in
        amount = _ZERO
        if read_rate is not None and usage.cache_read_tokens:
            amount += read_rate * usage.cache_read_tokens
            uncached -= usage.cache_read_tokens
        if write_rate is not None and usage.cache_write_tokens:
            amount += write_rate * usage.cache_write_tokens
            uncached -= usage.cache_write_tokens
        amount += input_rate * max(uncached, 0)
        output_rate = _rate(self.output, total_in) or _ZERO
        reasoning_rate = _rate(self.reasoning, total_in)
        plain_out = usage.output_tokens
        if reasoning_rate is not None and usage.reasoning_tokens:
            amount += reasoning_rate * usage.reasoning_tokens
            plain_out -= usage.reasoning_tokens
        amount += output_rate * max(plain_out, 0)
        cost = amount / _MILLION
        if self.per_request is not None:
            cost += self.per_request
        return cost

    def max_cost(self, input_tokens: int, max_output_tokens: int) -> Decimal:
        """Upper-bound estimate used for reservations: no cache discount, all output."""
        return self.cost(Usage(input_tokens=input_tokens, output_tokens=max_output_tokens))


class PriceSource(Protocol):
    """Looks up the pricing of a (provider, model) pair; ``None`` when it has none."""

    name: str

    def lookup(self, provider: str | None, model: str) -> ModelPricing | None: ...


# --- user overrides ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """One user price entry; ``model`` may be an fnmatch glob, ``provider`` None = any."""

    model: str
    input: Decimal
    output: Decimal
    provider: str | None = None
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None
    effective_from: date | None = None
    #: a fallback rate for ``on_unknown_price: estimate`` only — never a real price
    estimate: bool = False


_OVERRIDE_KEYS = frozenset(
    {
        "provider",
        "model",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "reasoning",
        "effective_from",
        "estimate",
    }
)


def _decimal(value: Any, where: str, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{where}: field {field!r} must be a number of USD per million tokens")
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(
            f"{where}: field {field!r} must be a number of USD per million tokens, got {value!r}"
        ) from None
    if not result.is_finite() or result < 0:
        raise ValueError(f"{where}: field {field!r} must be a finite price >= 0, got {value!r}")
    return result


def parse_overrides(
    entries: Iterable[Mapping[str, Any]], *, origin: str = "prices"
) -> list[PriceOverride]:
    """Validate override entries; errors name the origin, the entry and the field."""
    result: list[PriceOverride] = []
    for index, entry in enumerate(entries):
        where = f"{origin}: entry {index}"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: must be a mapping, got {type(entry).__name__}")
        unknown = set(entry) - _OVERRIDE_KEYS
        if unknown:
            raise ValueError(
                f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_OVERRIDE_KEYS)}"
            )
        model = entry.get("model")
        if not isinstance(model, str) or not model:
            raise ValueError(f"{where}: field 'model' is required (a model name or glob)")
        where = f"{origin}: entry {index} ({model})"
        for required in ("input", "output"):
            if required not in entry:
                raise ValueError(f"{where}: field {required!r} is required")
        provider = entry.get("provider")
        if provider is not None and not isinstance(provider, str):
            raise ValueError(f"{where}: field 'provider' must be a string")
        eff = entry.get("effective_from")
        if eff is not None and not isinstance(eff, date):
            try:
                eff = date.fromisoformat(str(eff))
            except ValueError:
                raise ValueError(
                    f"{where}: field 'effective_from' must be a date YYYY-MM-DD, got {eff!r}"
                ) from None
        estimate = entry.get("estimate", False)
        if not isinstance(estimate, bool):
            raise ValueError(f"{where}: field 'estimate' must be true or false")
        opt = {
            k: _decimal(entry[k], where, k)
            for k in ("cache_read", "cache_write", "reasoning")
            if entry.get(k) is not None
        }
        result.append(
            PriceOverride(
                model=model,
                provider=provider,
                input=_decimal(entry["input"], where, "input"),
                output=_decimal(entry["output"], where, "output"),
                effective_from=eff,
                estimate=estimate,
                **opt,
            )
        )
    return result


def load_overrides(
    source: str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> list[PriceOverride]:
    """Load overrides from a YAML file path, a ``{"prices": [...]}`` dict or a list."""
    origin = "prices"
    data: Any = source
    if isinstance(source, str | Path):
        origin = str(source)
        import yaml  # ~30 ms: only when a price file is given

        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{origin}: not valid YAML: {exc}") from None
    if isinstance(data, Mapping):
        data = data.get("prices", [])
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise ValueError(f"{origin}: expected a list of price entries under 'prices'")
    return parse_overrides(data, origin=origin)


class OverridePriceSource:
    """User-supplied prices; the newest entry already in effect wins. ``estimates=True``:
    the entries marked ``estimate: true`` instead (fallback rates, never real prices)."""

    name = "override"

    def __init__(
        self,
        overrides: Iterable[PriceOverride],
        *,
        today: date | None = None,
        estimates: bool = False,
    ) -> None:
        overrides = [o for o in overrides if o.estimate is estimates]
        self._today = today
        self._overrides = sorted(
            overrides, key=lambda o: o.effective_from or date.min, reverse=True
        )

    def lookup(self, provider: str | None, model: str) -> ModelPricing | None:
        today = self._today or datetime.now(UTC).date()
        for o in self._overrides:
            if o.effective_from is not None and o.effective_from > today:
                continue
            if o.provider is not None and provider is not None and o.provider != provider:
                continue
            if o.model == model or fnmatch.fnmatchcase(model, o.model):
                return ModelPricing(
                    provider=provider or o.provider or "unknown",
                    model=model,
                    input=o.input,
                    output=o.output,
                    cache_read=o.cache_read,
                    cache_write=o.cache_write,
                    reasoning=o.reasoning,
                    source=self.name,
                    version=(o.effective_from.isoformat() if o.effective_from else "user"),
                )
        return None


# --- genai-prices ------------------------------------------------------------------------

#: gen_ai.provider.name values (semconv) → genai-prices provider ids, where they differ.
_PROVIDER_IDS = {
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "xai": "x-ai",
    "x_ai": "x-ai",
    "mistral_ai": "mistral",
    "moonshot_ai": "moonshotai",
    "ibm.watsonx.ai": "ibm",
}


def _convert_rate(value: Any) -> Rate | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    base = getattr(value, "base", None)
    tiers = getattr(value, "tiers", None)
    if isinstance(base, Decimal) and tiers is not None:
        return Tiered(base, tuple((int(t.start), t.price) for t in tiers))
    return None


def _start_dates(prices: Any) -> list[date]:
    """Start dates of a genai-prices model's conditional prices (none for a flat price)."""
    if not isinstance(prices, list):
        return []
    found = (getattr(getattr(p, "constraint", None), "start_date", None) for p in prices)
    return [d for d in found if isinstance(d, date)]


class GenaiPricesSource:
    """Prices from the ``genai-prices`` package data, loaded once on a background thread.

    Importing genai-prices and building its snapshot takes ~0.2–0.4 s (pydantic models
    of every provider), so construction only starts that load (``background=True``)
    and the first look-up waits for what is left of it. ``start=False`` (what
    ``genops.init()`` does) defers the thread to :meth:`start`, called once init's own
    work is done — a load running beside init would take the GIL from it; a look-up
    before :meth:`start` loads in the caller. A fork waits for a load in flight, so a
    forked worker never inherits a half-held import lock. ``background=False`` loads at
    construction.
    """

    name = "genai-prices"

    def __init__(self, *, background: bool = True, start: bool = True) -> None:
        self._ready = threading.Event()
        self._snapshot: Any = None
        self._version = ""
        self._error: BaseException | None = None
        self._claim_lock = threading.Lock()
        self._claimed = False
        if not background:
            self._claim()
            self._load()
        elif start:
            self.start()

    def _claim(self) -> bool:
        """True for the one caller that is to load (a thread or a look-up)."""
        with self._claim_lock:
            claimed, self._claimed = self._claimed, True
        return not claimed

    def start(self) -> None:
        """Start the background load, unless it has started (or finished) already."""
        if not self._claim():
            return
        thread = threading.Thread(target=self._load, name="genops-prices", daemon=True)
        _before_fork.add(self._ready)
        thread.start()

    def _load(self) -> None:
        try:
            import genai_prices
            from genai_prices import data_snapshot

            self._version = str(genai_prices.__version__)
            self._snapshot = data_snapshot.get_snapshot()
        except BaseException as exc:  # re-raised by the first look-up, in the caller's thread
            self._error = exc
        finally:
            self._ready.set()
            _before_fork.discard(self._ready)

    def _wait(self) -> Any:
        if not self._ready.is_set():
            if self._claim():  # never started: load here
                self._load()
            self._ready.wait()
        if self._error is not None:
            raise self._error
        return self._snapshot

    @property
    def version(self) -> str:
        """The genai-prices release whose data is used."""
        self._wait()
        return self._version

    def lookup(self, provider: str | None, model: str) -> ModelPricing | None:
        snapshot = self._wait()
        provider_id = _PROVIDER_IDS.get(provider, provider) if provider else None
        try:
            found_provider, info = snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            # Unknown model, or a provider genai-prices does not price (a local Ollama,
            # a private gateway): the cost is unknown, not another provider's price.
            return None
        prices = info.get_prices(datetime.now(UTC))
        input_rate = _convert_rate(getattr(prices, "input_mtok", None))
        output_rate = _convert_rate(getattr(prices, "output_mtok", None))
        if input_rate is None and output_rate is None:
            return None
        per_k = getattr(prices, "requests_kcount", None)
        return ModelPricing(
            provider=provider or found_provider.id,
            model=model,
            input=input_rate if input_rate is not None else _ZERO,
            output=output_rate if output_rate is not None else _ZERO,
            cache_read=_convert_rate(getattr(prices, "cache_read_mtok", None)),
            cache_write=_convert_rate(getattr(prices, "cache_write_mtok", None)),
            reasoning=_convert_rate(getattr(prices, "output_reasoning_mtok", None)),
            per_request=(per_k / _THOUSAND) if isinstance(per_k, Decimal) else None,
            source=self.name,
            version=self._version,
        )

    def dates(self, provider: str | None, model: str) -> PriceDates | None:
        """The dates behind the price of ``model`` (walks the whole data: CLI use only)."""
        snapshot = self._wait()
        provider_id = _PROVIDER_IDS.get(provider, provider) if provider else None
        try:
            _, info = snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            return None
        today = datetime.now(UTC).date()
        starts = _start_dates(info.prices)
        since = max((d for d in starts if d <= today), default=None)
        upcoming = min((d for d in starts if d > today), default=None)
        models = (m for p in snapshot.providers for m in p.models)
        newest = max((d for m in models for d in _start_dates(m.prices)), default=None)
        return PriceDates(self.version, since, upcoming, newest)


@dataclass(frozen=True, slots=True)
class PriceDates:
    """Where a genai-prices price sits in time (for ``genops prices``; never per call).

    genai-prices publishes no data date: its data is the one bundled in the installed
    release (``version``). What it does carry is each price's start date, so ``since``
    is the start of the price in force today (``None``: undated, the model's first and
    only price), ``next_change`` a dated price still to come, and ``newest`` the latest
    start date anywhere in the bundled data (the data is at least that recent).
    """

    version: str
    since: date | None
    next_change: date | None
    newest: date | None


#: price loads in flight; a fork waits for them (an import lock must not be inherited held)
_before_fork: set[threading.Event] = set()


def _wait_for_loads() -> None:
    for ready in list(_before_fork):
        ready.wait(30)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_wait_for_loads)
atexit.register(_wait_for_loads)  # never let the interpreter finalize under a running import


class PriceBook:
    """Chains price sources (first answer wins) and caches each (provider, model).

    The cache is dropped when the UTC day changes, so dated prices (a new price from
    a start date, an override's ``effective_from``) take effect in a long-running
    process without a per-call look-up.

    >>> book = PriceBook([OverridePriceSource([PriceOverride("my-model", Decimal(1), Decimal(2))])])
    >>> book.cost("acme", "my-model", Usage(input_tokens=1_000_000))
    Decimal('1')
    """

    def __init__(
        self,
        sources: Sequence[PriceSource],
        *,
        clock: Callable[[], float] = time.time,
        fallback: PriceSource | None = None,
    ) -> None:
        self._sources = tuple(sources)
        #: estimate-only rates (``estimate: true`` overrides), for :meth:`estimate`
        self.fallback = fallback
        self._cache: dict[tuple[str | None, str], ModelPricing | None] = {}
        self._estimates: dict[tuple[str | None, str], ModelPricing | None] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._day = int(clock() // 86_400)

    @classmethod
    def default(cls, overrides: Iterable[PriceOverride] = (), *, start: bool = True) -> PriceBook:
        """Overrides (if any), then genai-prices (its load deferred to :meth:`start`
        with ``start=False``)."""
        sources: list[PriceSource] = []
        overrides = list(overrides)
        if any(not o.estimate for o in overrides):
            sources.append(OverridePriceSource(overrides))
        sources.append(GenaiPricesSource(start=start))
        fallback = (
            OverridePriceSource(overrides, estimates=True)
            if any(o.estimate for o in overrides)
            else None
        )
        return cls(sources, fallback=fallback)

    def start(self) -> None:
        """Start every source's background load that has not started yet."""
        for source in (*self._sources, self.fallback):
            start = getattr(source, "start", None)
            if callable(start):
                start()

    def lookup(self, provider: str | None, model: str | None) -> ModelPricing | None:
        """Pricing for the pair, or ``None`` when no source knows the model."""
        if not model:
            return None
        day = int(self._clock() // 86_400)
        if day != self._day:
            with self._lock:
                self._cache.clear()
                self._estimates.clear()
                self._day = day
        key = (provider, model)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found: ModelPricing | None = None
        for source in self._sources:
            found = source.lookup(provider, model)
            if found is not None:
                break
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: model names come from user input
                self._cache.clear()
            self._cache[key] = found
        return found

    def estimate(self, provider: str | None, model: str | None) -> ModelPricing | None:
        """An *estimated* pricing for a model no source prices (``on_unknown_price:
        estimate``), or ``None``: see :func:`genops.price_estimate.estimate` (cached)."""
        if not model:
            return None
        key = (provider, model)
        try:
            return self._estimates[key]
        except KeyError:
            pass
        from genops.price_estimate import estimate

        found = estimate(self, provider, model)
        with self._lock:
            if len(self._estimates) > 10_000:
                self._estimates.clear()
            self._estimates[key] = found
        return found

    def cost(self, provider: str | None, model: str | None, usage: Usage) -> Decimal | None:
        """USD cost, or ``None`` when the price is unknown (never a made-up zero)."""
        pricing = self.lookup(provider, model)
        return None if pricing is None else pricing.cost(usage)
