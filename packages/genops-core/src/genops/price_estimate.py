"""Estimated prices for models no price source knows (``on_unknown_price: estimate``).

An estimate is never a silent placeholder: it comes from a documented basis and every
record made with it says so (``genops.cost.estimated = true``,
``genops.cost.price_source = estimate:family`` or ``estimate:override``,
``genops.cost.price_version`` naming the basis). Two bases, first answer wins:

1. **family** — the price of the same model family at the same provider: the name is
   shortened one ``-`` / ``:`` / ``@`` / ``_`` segment at a time (a gateway's
   ``vendor/`` prefix dropped first) until a price source knows it, never down to a
   single segment. ``gpt-4o-mini-acme-deploy`` → ``gpt-4o-mini``;
   ``azure/gpt-4o-2099-01-01`` → ``gpt-4o``. When the provider prices none of them
   (a gateway's host name), the same names at *any* provider, the model's own name
   first (genai-prices' choice of provider: ``gpt-4o-mini`` → ``openai``).
2. **override** — a price entry marked ``estimate: true`` (a fallback rate of yours,
   e.g. ``model: "*"``), used only for estimates::

       prices:
         - model: "*"
           input: 3.00
           output: 15.00
           estimate: true

Neither: no estimate; the unit is treated as ``warn`` (cost unknown, WARNING
``x_price_unknown``), never priced at $0 or at the reservation.

    >>> list(family_names("gpt-4o-mini-acme"))
    ['gpt-4o-mini', 'gpt-4o']
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from genops.pricing import ModelPricing, PriceBook
    from genops.usage import Usage

SOURCE_FAMILY: Final = "estimate:family"
SOURCE_OVERRIDE: Final = "estimate:override"
#: a provider call whose (response) model has no price, in a unit whose request model has
SOURCE_REQUEST_MODEL: Final = "estimate:request_model"
#: ``on_unknown_price`` values (``allow``: older files; run silently, nothing counted)
CHOICES: Final = ("warn", "block", "estimate", "allow")
_CUT = re.compile(r"[-:@_][^-:@_]*$")


def family_names(model: str) -> Iterator[str]:
    """Shorter names of ``model``'s family, longest first (see module doc)."""
    name = model.rsplit("/", 1)[-1]
    if name != model and name:
        yield name
    while True:
        shorter = _CUT.sub("", name)
        if shorter == name or not re.search(r"[-:@_]", shorter):
            return
        name = shorter
        yield name


def estimate(book: PriceBook, provider: str | None, model: str) -> ModelPricing | None:
    """The estimated pricing of ``model`` (priced by no source), or ``None``."""
    tries = [(provider, name) for name in family_names(model)]
    if provider is not None:  # an unpriced provider (a gateway's host): any provider's
        tries += [(None, name) for name in (model, *family_names(model))]
    for who, name in tries:
        found = book.lookup(who, name)
        if found is not None:
            basis = f"{found.provider}/{name} ({found.source} {found.version})"
            return dataclasses.replace(
                found, provider=provider or found.provider, model=model,
                source=SOURCE_FAMILY, version=basis.replace(" )", ")"),
            )  # fmt: skip
    if book.fallback is not None:
        found = book.fallback.lookup(provider, model)
        if found is not None:
            return dataclasses.replace(found, source=SOURCE_OVERRIDE)
    return None


def estimating(defaults: Mapping[str, Any], policies: Iterable[Any]) -> bool:
    """Whether a unit's accounting uses its estimated price (its price being unknown):
    the rule (the engine's policy defaults) or one of its USD budgets says ``estimate``."""
    if defaults.get("on_unknown_price") == "estimate":
        return True
    return any(
        getattr(p, "on_unknown_price", None) == "estimate" and getattr(p, "unit", "") == "USD"
        for p in policies
    )


def applies(runtime: Any, admission: Any) -> bool:
    """Whether a unit whose cost is unknown at the end is costed at an estimate: the
    runtime's rule is ``estimate`` (``init(on_unknown_price=)``, ``GENOPS_ON_UNKNOWN_PRICE``,
    the policy file's ``defaults``), or a USD policy reserved for it (at an estimated
    price, or at the request model's when the response model turned out unpriced) — so
    the ledger settles the figure the span and the metric show, never the reservation."""
    if getattr(runtime, "on_unknown_price", "warn") == "estimate":
        return True
    return admission is not None and admission.unit == "USD" and admission.reserved > 0


def cost(
    book: PriceBook,
    calls: Sequence[tuple[Usage, str | None, str | None]],
    request_model: str | None,
) -> tuple[Decimal | None, str | None, str | None]:
    """(cost, price source, basis) of provider calls ``(usage, provider, model)``, each at
    its own price, else its estimate, else the unit's request model's price; ``None``
    when one of them has none of these."""
    total = Decimal(0)
    basis: ModelPricing | None = None
    for usage, provider, model in calls:
        pricing = book.lookup(provider, model) if model else None
        if pricing is None and model:
            pricing = book.estimate(provider, model)
        if pricing is None and request_model and request_model != model:
            found = book.lookup(provider, request_model)
            if found is not None:
                pricing = dataclasses.replace(
                    found,
                    source=SOURCE_REQUEST_MODEL,
                    version=f"{request_model} ({found.source} {found.version})",
                )
        if pricing is None:
            return None, None, None
        total += pricing.cost(usage)
        if is_estimate(pricing.source):
            basis = pricing
    if basis is None:
        return None, None, None
    return total, basis.source, basis.version


def is_estimate(source: str | None) -> bool:
    """True for the price source of an estimated cost."""
    return source is not None and source.startswith("estimate:")


__all__ = [
    "CHOICES",
    "SOURCE_FAMILY",
    "SOURCE_OVERRIDE",
    "SOURCE_REQUEST_MODEL",
    "applies",
    "cost",
    "estimate",
    "estimating",
    "family_names",
    "is_estimate",
]
