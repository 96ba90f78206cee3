"""GenOpsGuard in real Haystack pipelines: blocks before the provider, redacts what it
sends, round-trips through YAML, and leaves the budget to the generator's unit."""

from __future__ import annotations

from typing import Any

import pytest
from haystack import Pipeline, component
from haystack.components.builders import ChatPromptBuilder, PromptBuilder
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

import genops
import genops_haystack
from genops import attributes as A
from genops_haystack import GenOpsGuard
from tests.langchain.conftest import tree

MODEL = "gpt-4o-mini"
EMAIL = "mail jane.doe@example.com please"
APPROVED_4O = {
    "version": 1,
    "policies": [{"name": "models", "type": "allowed_models", "models": ["gpt-4o"]}],
}
REDACT = {
    "version": 1,
    "policies": [{"name": "pii", "type": "content", "detect": ["email"], "action": "redact"}],
}


def guarded(base_url: str, key: Secret | None = None, **guard: Any) -> Pipeline:
    p = Pipeline(metadata={"name": "guarded"})
    p.add_component(
        "prompt", ChatPromptBuilder(template=[ChatMessage.from_user("Q: {{question}}")])
    )
    p.add_component("guard", GenOpsGuard(model=MODEL, provider="openai", **guard))
    p.add_component(
        "llm",
        OpenAIChatGenerator(
            api_key=key or Secret.from_token("k"), model=MODEL, api_base_url=base_url
        ),
    )
    p.connect("prompt.prompt", "guard.messages")
    p.connect("guard.messages", "llm.messages")
    return p


@pytest.mark.parametrize("traced", [True, False])
async def test_blocks_before_any_request(make_genops, telemetry, fake, base_url, traced) -> None:
    make_genops(policy=APPROVED_4O)
    handle = genops_haystack.enable() if traced else None
    try:
        with pytest.raises(genops.PolicyViolationError) as err:
            guarded(base_url).run({"prompt": {"question": "hi"}})
        with pytest.raises(genops.PolicyViolationError):
            await guarded(base_url).run_async({"prompt": {"question": "hi"}})
    finally:
        if handle is not None:
            handle.disable()
    assert err.value.reason_code == "POLICY_DENY_MODEL"
    assert fake.request_count == 0
    points = telemetry.metrics()[A.METRIC_POLICY_DECISIONS]
    assert sum(p.value for p in points if p.attributes[A.POLICY_RESULT] == "BLOCKED") == 2
    if not traced:
        assert telemetry.spans() == []
        return
    assert sorted(set(tree(telemetry.spans()))) == [
        ("guard", "invoke_workflow guarded"),
        ("invoke_workflow guarded", None),
        ("prompt", "invoke_workflow guarded"),
    ]  # no chat unit: the generator never ran
    guard = next(s for s in telemetry.spans() if s.name == "guard")
    assert guard.attributes[A.POLICY_RESULT] == "BLOCKED"
    assert guard.attributes[A.POLICY_NAME] == "models"
    assert guard.attributes[A.ERROR_TYPE] == "genops_haystack.GuardBlockedError"
    assert isinstance(err.value, genops_haystack.GuardBlockedError)
    assert err.value.component_name == "guard" and err.value.pipeline_snapshot is not None


def test_redacts_what_reaches_the_provider(make_genops, telemetry, fake, base_url) -> None:
    make_genops(policy=REDACT)
    handle = genops_haystack.enable()
    try:
        out = guarded(base_url).run({"prompt": {"question": EMAIL}}, include_outputs_from={"guard"})
    finally:
        handle.disable()
    sent = fake.last.body["messages"][0]["content"]
    assert "@" not in str(sent) and "[REDACTED:email]" in str(sent)
    assert out["guard"]["messages"][0].text == "Q: mail [REDACTED:email] please"
    guard = telemetry.span("guard")
    assert guard.attributes["genops.guard.redacted"] is True
    assert guard.attributes[A.POLICY_RESULT] == "WARNING"
    # the generator's unit sees the redacted text: its content policy finds nothing
    unit = telemetry.span(f"chat {MODEL}")
    assert unit.attributes[A.POLICY_RESULT] == "ALLOWED"


def test_prompt_input_and_tool_messages(make_genops, telemetry) -> None:
    make_genops(policy=REDACT)
    guard = GenOpsGuard(model=MODEL)
    assert guard.run(prompt=EMAIL) == {"prompt": "mail [REDACTED:email] please"}
    from haystack.dataclasses import ToolCall

    call = ToolCall(tool_name="send", arguments={"to": "jane.doe@example.com"}, id="c1")
    msgs = [ChatMessage.from_assistant(tool_calls=[call]), ChatMessage.from_tool("ok", call)]
    out = guard.run(messages=msgs)["messages"]
    assert out[0].tool_calls[0].arguments == {"to": "[REDACTED:email]"}
    assert out[0].tool_calls[0].id == "c1" and out[1].tool_call_result.result == "ok"
    assert guard.run() == {}
    with pytest.raises(ValueError):
        GenOpsGuard(max_output_tokens=-1)


@component
class Echo:
    @component.output_types(text=str)
    def run(self, prompt: str) -> dict[str, str]:
        return {"text": prompt}


def test_prompt_pipeline(make_genops, telemetry) -> None:
    make_genops(policy=REDACT)
    p = Pipeline()
    p.add_component("builder", PromptBuilder(template="Q: {{q}}"))
    p.add_component("guard", GenOpsGuard(model=MODEL))
    p.add_component("echo", Echo())
    p.connect("builder.prompt", "guard.prompt")
    p.connect("guard.prompt", "echo.prompt")
    assert p.run({"builder": {"q": EMAIL}})["echo"]["text"] == "Q: mail [REDACTED:email] please"


def test_yaml_round_trip(make_genops, telemetry, fake, base_url, monkeypatch) -> None:
    make_genops(policy=APPROVED_4O)
    monkeypatch.setenv("GENOPS_TEST_OPENAI_KEY", "k")
    key = Secret.from_env_var("GENOPS_TEST_OPENAI_KEY")
    original = guarded(base_url, key, max_output_tokens=64, policies=["models"])
    text = original.dumps()
    assert "type: genops_haystack.GenOpsGuard" in text
    # Haystack 3 loads only trusted modules: the user allows genops_haystack explicitly
    loaded = Pipeline.loads(text, allowed_modules=["genops_haystack"])
    guard = loaded.get_component("guard")
    assert isinstance(guard, GenOpsGuard)
    assert (guard.model, guard.provider, guard.max_output_tokens, guard.policies) == (
        MODEL, "openai", 64, ["models"],
    )  # fmt: skip
    again, first = loaded.to_dict(), original.to_dict()
    assert again["components"] == first["components"]
    assert sorted(map(str, again["connections"])) == sorted(map(str, first["connections"]))
    with pytest.raises(genops.PolicyViolationError):
        loaded.run({"prompt": {"question": "hi"}})
    assert fake.request_count == 0


def test_budget_counted_once(make_genops, telemetry, fake, base_url) -> None:
    make_genops(policy={"version": 1, "policies": [
        {"name": "spend", "type": "budget", "limit": 1, "window": "daily", "per": "team"},
    ]})  # fmt: skip
    handle = genops_haystack.enable()
    try:
        guarded(base_url, max_output_tokens=100).run({"prompt": {"question": "hi"}})
    finally:
        handle.disable()
    assert fake.request_count == 1
    unit = telemetry.span(f"chat {MODEL}")
    status = genops.budget_status("spend", team="platform")
    assert status.reserved == 0
    assert status.consumed == pytest.approx(unit.attributes["genops.cost.total"])


def test_exhausted_budget_blocks_at_the_guard(make_genops, telemetry, fake, base_url) -> None:
    make_genops(
        policy={"version": 1, "policies": [
            {"name": "spend", "type": "budget", "limit": 0.000001, "window": "daily"},
        ]},
    )  # fmt: skip
    with pytest.raises(genops.PolicyViolationError) as err:
        guarded(base_url, max_output_tokens=1000).run({"prompt": {"question": "hi"}})
    assert err.value.reason_code == "BUDGET_RESERVATION_FAILED"
    assert fake.request_count == 0
