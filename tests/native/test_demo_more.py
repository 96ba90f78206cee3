"""The Gemini and LiteLLM demo scenarios (``genops demo``), on the demo's loopback provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import genops_native
from genops import attributes as A
from genops.demo import DemoContext
from genops.demo import native_more as demo_more
from genops.demo.fake_provider import FakeProvider
from genops.demo.runner import demo_policy


def test_gemini_and_litellm_scenarios(make_genops: Any, telemetry: Any, tmp_path: Path) -> None:
    found = demo_more.scenarios()
    assert [s.integration for s in found] == ["gemini", "litellm"]
    models = tuple(m for s in found for m in s.models)
    make_genops(policy=demo_policy(models, f"jsonl:///{tmp_path}/audit.jsonl"))
    handles = [
        genops_native.instrument_openai(),
        genops_native.instrument_gemini(),
        genops_native.instrument_litellm(),
    ]
    with FakeProvider() as fake:
        ctx = DemoContext(fake=fake)
        for scenario in found:
            ctx.scenario = scenario.name
            scenario.run(ctx)
    for handle in handles:
        handle.uninstrument()
    assert fake.requests == len(demo_more.DOCS) + len(demo_more.TASKS)  # the block sent nothing
    assert ctx.notes == [
        "gemini document summaries: gemini-2.5-pro blocked by 'approved-models' before sending"
    ]
    spans = telemetry.spans()
    by_op: dict[str, list[Any]] = {}
    for span in spans:
        by_op.setdefault(span.attributes[A.OPERATION_NAME], []).append(span)
    assert sorted(by_op) == ["gemini.generate_content", "litellm.completion"]  # no OpenAI span
    gemini, litellm_calls = by_op["gemini.generate_content"], by_op["litellm.completion"]
    assert [s.attributes[A.POLICY_RESULT] for s in gemini] == ["ALLOWED"] * 3 + ["BLOCKED"]
    assert {s.attributes[A.TEAM] for s in gemini} == {"docs"}
    assert [s.attributes[A.GEN_AI_PROVIDER_NAME] for s in litellm_calls] == [
        "anthropic", "openai", "anthropic", "openai",
    ]  # fmt: skip
    for span in gemini[:3] + litellm_calls:
        assert span.attributes[A.COST_TOTAL] > 0
