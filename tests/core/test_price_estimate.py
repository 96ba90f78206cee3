"""genops.price_estimate: the documented bases of an estimated price."""

from __future__ import annotations

from decimal import Decimal

import pytest

from genops.price_estimate import SOURCE_FAMILY, SOURCE_OVERRIDE, family_names
from genops.pricing import PriceBook, load_overrides


@pytest.mark.parametrize(
    ("model", "names"),
    [
        ("gpt-4o-mini-acme", ["gpt-4o-mini", "gpt-4o"]),
        ("azure/gpt-4o-2099", ["gpt-4o-2099", "gpt-4o"]),
        ("claude-sonnet-4-5@2026", ["claude-sonnet-4-5", "claude-sonnet-4", "claude-sonnet"]),
        ("my-llama", []),  # never down to a single segment
        ("o3", []),
    ],
)
def test_family_names(model: str, names: list[str]) -> None:
    assert list(family_names(model)) == names


def test_family_estimate_uses_genai_prices_figure_of_the_family() -> None:
    book = PriceBook.default()
    assert book.lookup("openai", "gpt-4o-mini-acme-ft") is None
    guess = book.estimate("openai", "gpt-4o-mini-acme-ft")
    real = book.lookup("openai", "gpt-4o-mini")
    assert guess is not None and real is not None
    assert (guess.input, guess.output) == (real.input, real.output)
    assert guess.source == SOURCE_FAMILY
    assert guess.version.startswith("openai/gpt-4o-mini (genai-prices ")
    # a gateway's host as provider: the family at any provider
    at_host = book.estimate("llm.internal.example", "gpt-4o-mini-acme-ft")
    assert at_host is not None and at_host.provider == "llm.internal.example"
    assert at_host.input == real.input


def test_an_estimate_only_entry_is_never_a_price() -> None:
    book = PriceBook.default(
        load_overrides([{"model": "acme-*", "input": 1, "output": 2, "estimate": True}])
    )
    assert book.lookup("vllm", "acme-llama-70b") is None
    guess = book.estimate("vllm", "acme-llama-70b")
    assert guess is not None and guess.source == SOURCE_OVERRIDE
    assert (guess.input, guess.output) == (Decimal(1), Decimal(2))
    assert book.estimate("vllm", "other-model") is None


def test_estimate_field_is_validated() -> None:
    with pytest.raises(ValueError, match="'estimate' must be true or false"):
        load_overrides([{"model": "x", "input": 1, "output": 2, "estimate": "yes"}])
