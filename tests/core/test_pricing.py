"""Pricing: parity with genai-prices' own answer, overrides, unknown models."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from genai_prices import Usage as GpUsage
from genai_prices import calc_price

import genops
from genops import attributes as A
from genops.pricing import OverridePriceSource, PriceBook, PriceOverride, load_overrides
from genops.usage import Usage

# (genops provider name, genai-prices provider id, model)
MODELS = [
    ("openai", "openai", "gpt-4o"),
    ("openai", "openai", "gpt-4o-mini"),
    ("openai", "openai", "gpt-4.1"),
    ("openai", "openai", "o3-mini"),
    ("openai", "openai", "gpt-5"),
    ("anthropic", "anthropic", "claude-sonnet-4-5"),
    ("anthropic", "anthropic", "claude-3-5-haiku-latest"),
    ("anthropic", "anthropic", "claude-opus-4-1"),
    ("gcp.gemini", "google", "gemini-2.5-flash"),
    ("gcp.gemini", "google", "gemini-2.5-pro"),
    ("mistral_ai", "mistral", "mistral-large-latest"),
    ("deepseek", "deepseek", "deepseek-chat"),
    ("groq", "groq", "llama-3.3-70b-versatile"),
    ("x_ai", "x-ai", "grok-3"),
]
USAGES = [
    # cache reads and writes
    {
        "input_tokens": 12000,
        "output_tokens": 800,
        "cache_read_tokens": 4000,
        "cache_write_tokens": 1000,
    },
    # above the 200k tier of tiered models
    {"input_tokens": 300000, "output_tokens": 900},
    # reasoning tokens inside output tokens
    {"input_tokens": 5000, "output_tokens": 3000, "reasoning_tokens": 2000},
]


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.default()


@pytest.mark.parametrize(("provider", "gp_provider", "model"), MODELS)
@pytest.mark.parametrize("usage", USAGES)
def test_cost_equals_genai_prices(book, provider, gp_provider, model, usage):
    ours = book.cost(provider, model, Usage(**usage))
    gp_usage = dict(usage)
    if "reasoning_tokens" in gp_usage:
        gp_usage["output_reasoning_tokens"] = gp_usage.pop("reasoning_tokens")
    theirs = calc_price(GpUsage(**gp_usage), model, provider_id=gp_provider).total_price
    assert ours == theirs


def test_parity_covers_ten_models_of_four_providers():
    assert len({m for _, _, m in MODELS}) >= 10
    assert len({p for p, _, _ in MODELS}) >= 4


def test_pricing_is_resolved_once_and_cached(book):
    first = book.lookup("openai", "gpt-4o-mini")
    assert first is not None
    assert book.lookup("openai", "gpt-4o-mini") is first
    assert first.source == "genai-prices"
    assert first.version


def test_unknown_model_and_unpriced_provider_are_none_never_zero(book):
    assert book.cost("openai", "no-such-model-xyz", Usage(1, 1)) is None
    # a provider genai-prices does not price is not priced as someone else's model
    assert book.cost("ollama", "gpt-4o-mini", Usage(1, 1)) is None
    assert book.cost(None, None, Usage(1, 1)) is None


def test_overrides_win_over_genai_prices_with_globs_and_dates():
    overrides = [
        PriceOverride("gpt-4o-mini", Decimal("1"), Decimal("2"), provider="openai"),
        PriceOverride(
            "ft:gpt-4o-mini:*", Decimal("0.3"), Decimal("1.2"), cache_read=Decimal("0.15")
        ),
        PriceOverride("later", Decimal("9"), Decimal("9"), effective_from=date(2999, 1, 1)),
        PriceOverride("later", Decimal("3"), Decimal("3"), effective_from=date(2020, 1, 1)),
    ]
    book = PriceBook([OverridePriceSource(overrides), *PriceBook.default()._sources])
    assert book.cost("openai", "gpt-4o-mini", Usage(1_000_000, 1_000_000)) == Decimal("3")
    ft = book.lookup("openai", "ft:gpt-4o-mini:acme:custom:abc")
    assert ft is not None and ft.source == "override"
    assert ft.cost(Usage(1_000_000, 0, cache_read_tokens=500_000)) == Decimal("0.225")
    assert book.cost("x", "later", Usage(1_000_000, 0)) == Decimal("3")
    # a different provider is not overridden
    assert book.lookup("azure.ai.openai", "gpt-4o-mini").source == "genai-prices"


def test_overrides_load_from_yaml_and_errors_name_file_entry_field(tmp_path):
    good = tmp_path / "prices.yaml"
    good.write_text(
        "prices:\n  - {provider: acme, model: 'acme-*', input: 0.5, output: 1.5, "
        "effective_from: 2026-01-01}\n"
    )
    [entry] = load_overrides(good)
    assert entry.input == Decimal("0.5")
    assert entry.effective_from == date(2026, 1, 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices:\n  - {model: m, input: cheap, output: 1}\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: entry 0 \(m\): field 'input'"):
        load_overrides(bad)
    with pytest.raises(ValueError, match="field 'output' is required"):
        load_overrides([{"model": "m", "input": 1}])
    with pytest.raises(ValueError, match="unknown field"):
        load_overrides([{"model": "m", "input": 1, "output": 1, "inptu": 2}])
    with pytest.raises(ValueError, match=">= 0"):
        load_overrides([{"model": "m", "input": -1, "output": 1}])


def test_init_prices_override_reaches_the_span(telemetry, make_genops):
    make_genops(prices=[{"provider": "acme", "model": "acme-*", "input": 2, "output": 4}])
    with genops.governed("op", provider="acme", model="acme-large") as unit:
        unit.record_usage(input_tokens=500_000, output_tokens=250_000)
    attrs = telemetry.span("chat acme-large").attributes
    assert attrs[A.COST_TOTAL] == 2.0
    assert attrs[A.COST_PRICE_SOURCE] == "override"
    assert attrs[A.ACCOUNTING_UNIT] == "USD"


def test_cache_is_refreshed_when_the_utc_day_changes():
    class Counting:
        name = "counting"

        def __init__(self) -> None:
            self.lookups = 0

        def lookup(self, provider, model):
            self.lookups += 1
            return None

    now = [1_800_000_000.0]
    source = Counting()
    book = PriceBook([source], clock=lambda: now[0])
    book.lookup("p", "m")
    book.lookup("p", "m")
    assert source.lookups == 1  # cached, unknown included
    now[0] += 3600
    book.lookup("p", "m")
    assert source.lookups == 1  # same day
    now[0] += 86_400
    book.lookup("p", "m")
    assert source.lookups == 2  # a new day: resolved again


def test_background_price_load_gives_the_same_prices_as_a_foreground_one():
    from genops.pricing import GenaiPricesSource

    background, foreground = GenaiPricesSource(), GenaiPricesSource(background=False)
    assert background.version == foreground.version != ""
    for provider, _, model in MODELS:
        assert background.lookup(provider, model) == foreground.lookup(provider, model)
    assert background.lookup("openai", "no-such-model-xyz") is None


def test_a_fork_during_the_background_price_load_gets_a_working_child():
    """os.fork() waits for a price load in flight (register_at_fork): the child never
    inherits an import lock held by a thread that does not exist in it."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import os
        from genops.pricing import GenaiPricesSource
        source = GenaiPricesSource()          # starts loading genai-prices on a thread
        pid = os.fork()                       # at once, while that thread is importing
        if pid == 0:
            found = source.lookup("openai", "gpt-4o-mini")
            os._exit(0 if found is not None and found.input > 0 else 3)
        _, status = os.waitpid(pid, 0)
        print("child", os.waitstatus_to_exitcode(status))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "child 0"


def test_a_deferred_price_load_starts_once_and_a_look_up_before_it_loads_in_the_caller():
    import threading

    from genops.pricing import GenaiPricesSource

    def loaders() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "genops-prices"]

    deferred = GenaiPricesSource(start=False)
    assert not deferred._ready.is_set() and not loaders()
    found = deferred.lookup("openai", "gpt-4o-mini")  # no thread: loaded right here
    assert found is not None and found.input > 0 and not loaders()
    deferred.start()  # already loaded: starts nothing
    assert not loaders()

    book = PriceBook.default(start=False)
    (source,) = book._sources
    assert not source._ready.is_set()
    book.start()
    book.start()
    assert source.version != ""  # waits for the one load started
    assert book.lookup("openai", "gpt-4o-mini") == found


def test_init_starts_the_price_load_as_its_last_step():
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import genops
        from genops import pricing
        started = []
        real = pricing.GenaiPricesSource.start
        def start(self):
            # after the runtime is set and the integrations are hooked: init's last step
            started.append(len(genops.get_runtime().waiting_integrations))
            real(self)
        pricing.GenaiPricesSource.start = start
        rt = genops.init(service_name="s", local_store=False, exporter="none",
                         metrics_exporter="none", instrument=True)
        assert len(started) == 1 and started[0] > 0, started
        (source,) = rt.prices._sources
        print(source.lookup("openai", "gpt-4o-mini") is not None, rt.integrations == [])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
