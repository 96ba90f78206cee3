"""genai-prices' own calculation, the reference every genops cost must equal."""

from __future__ import annotations

from decimal import Decimal

import genai_prices

import genops


def reference_cost(provider_id: str, model: str, usage: genops.Usage) -> Decimal:
    """``genai_prices.calc_price`` for the same usage (input includes cache tokens)."""
    result = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cache_read_tokens or None,
            cache_write_tokens=usage.cache_write_tokens or None,
            output_tokens=usage.output_tokens,
        ),
        model,
        provider_id=provider_id,
    )
    return Decimal(result.total_price)
