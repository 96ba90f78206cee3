"""The kit's readers of framework request parameters and ``genops_`` attribution."""

from __future__ import annotations

from genops import Attribution
from genops import adapter as kit


def test_first_text_searches_sources_then_keys_in_order() -> None:
    runtime = {"model": "", "model_name": "gpt-4o-mini"}
    init = {"model": "gpt-4o"}
    assert kit.first_text(runtime, init, keys=kit.MODEL_KEYS) == "gpt-4o-mini"
    assert kit.first_text(None, {"model": 3}, init, keys=kit.MODEL_KEYS) == "gpt-4o"
    assert kit.first_text(None, "not a mapping", keys=kit.MODEL_KEYS) is None  # type: ignore[arg-type]


def test_first_count_takes_non_negative_ints_only() -> None:
    keys = kit.MAX_OUTPUT_TOKEN_KEYS
    assert kit.first_count({"max_tokens": True, "max_completion_tokens": 200}, keys=keys) == 200
    assert kit.first_count({"max_tokens": -1}, {"max_new_tokens": 64}, keys=keys) == 64
    assert kit.first_count({"max_tokens": 0}, keys=keys) == 0
    assert kit.first_count({"max_tokens": "512"}, None, keys=keys) is None


def test_attribution_from_metadata_wins_over_tags() -> None:
    found = kit.attribution_from(
        {"genops_team": "support", "other": "x"},
        tags=["genops_team:sales", "genops_customer_id:acme", "genops_feature: ", "plain"],
    )
    assert found == Attribution(team="support", customer_id="acme")
    assert kit.attribution_from({"team": "support"}, tags=["team:sales"]) is None
    assert kit.attribution_from({"app_team": "ml"}, prefix="app_") == Attribution(team="ml")
