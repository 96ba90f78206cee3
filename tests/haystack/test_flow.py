"""Loops, branches and content tags in real Haystack pipelines through GenOpsTracer."""

from __future__ import annotations

import pytest
from haystack import Pipeline, component, tracing
from haystack.components.builders import ChatPromptBuilder
from haystack.components.generators.chat import OpenAIChatGenerator
from haystack.components.joiners import BranchJoiner
from haystack.components.routers import ConditionalRouter
from haystack.dataclasses import ChatMessage
from haystack.utils import Secret

import genops
import genops_haystack
from genops import attributes as A
from tests.spans import parent_of

MODEL = "gpt-4o-mini"
CONTENT_KEYS = ("haystack.component.input", "haystack.component.output")


@component
class Step:
    """One turn of the loop: n → n + 1."""

    @component.output_types(n=int)
    def run(self, n: int) -> dict[str, int]:
        return {"n": n + 1}


@component
class Never:
    """The branch that must not run."""

    @component.output_types(text=str)
    def run(self, n: int) -> dict[str, str]:
        raise AssertionError("the other branch ran")


def looping(base_url: str) -> Pipeline:
    router = ConditionalRouter(
        routes=[
            {"condition": "{{n < 3}}", "output": "{{n}}", "output_name": "again", "output_type": int},
            {"condition": "{{n == 3}}", "output": "{{n}}", "output_name": "done", "output_type": int},
            {"condition": "{{n > 3}}", "output": "{{n}}", "output_name": "over", "output_type": int},
        ]
    )  # fmt: skip
    p = Pipeline(metadata={"name": "loop"}, max_runs_per_component=10)
    p.add_component("join", BranchJoiner(int))  # Haystack's loop entry: input or loop-back
    p.add_component("step", Step())
    p.add_component("router", router)
    p.add_component("never", Never())
    p.add_component("prompt", ChatPromptBuilder(template=[ChatMessage.from_user("n={{n}}")]))
    p.add_component(
        "llm",
        OpenAIChatGenerator(api_key=Secret.from_token("k"), model=MODEL, api_base_url=base_url),
    )
    p.connect("join.value", "step.n")
    p.connect("step.n", "router.n")
    p.connect("router.again", "join.value")
    p.connect("router.done", "prompt.n")
    p.connect("router.over", "never.n")
    p.connect("prompt.prompt", "llm.messages")
    return p


def test_loop_and_branch(runtime: genops.GenOps, telemetry, fake, base_url) -> None:
    handle = genops_haystack.enable()
    try:
        out = looping(base_url).run({"join": {"value": 0}})
    finally:
        handle.disable()
    assert out["llm"]["replies"][0].text
    assert fake.request_count == 1
    spans = telemetry.spans()
    root = telemetry.span("invoke_workflow loop")
    names = sorted(s.name for s in spans if s is not root)
    # one child per component run: three loop turns, three routings, one prompt, one call
    turns = ["join", "step", "router"] * 3
    assert names == sorted([*turns, "prompt", f"chat {MODEL}"])
    for s in spans:
        if s is not root:
            assert parent_of(s, spans) is root, s.name
    assert parent_of(root, spans) is None
    visits = sorted(s.attributes["haystack.component.visits"] for s in spans if s.name == "step")
    assert visits == [1, 2, 3]
    unit = telemetry.span(f"chat {MODEL}")
    assert root.attributes[A.ROLLUP_COST_TOTAL] == pytest.approx(unit.attributes[A.COST_TOTAL])
    assert all(k not in (s.attributes or {}) for s in spans for k in CONTENT_KEYS)


def test_nests_under_the_users_span(runtime, telemetry, fake, base_url) -> None:
    handle = genops_haystack.enable()
    try:
        with telemetry.tracer.start_as_current_span("request") as outer:
            looping(base_url).run({"join": {"value": 2}})
    finally:
        handle.disable()
    root = telemetry.span("invoke_workflow loop")
    assert root.parent is not None and root.parent.span_id == outer.get_span_context().span_id


@pytest.mark.parametrize("switch", ["haystack", "genops"])
def test_content_tags_follow_either_switch(
    make_genops, telemetry, fake, base_url, monkeypatch, switch
) -> None:
    """HAYSTACK_CONTENT_TRACING_ENABLED (read by Haystack into
    ``tracing.tracer.is_content_tracing_enabled``) or genops content capture; recorded
    content is redacted as the call's content policy says."""
    redact = {"name": "pii", "type": "content", "detect": ["email"], "action": "redact"}
    make_genops(capture_content=switch == "genops", policy={"version": 1, "policies": [redact]})
    if switch == "haystack":
        monkeypatch.setattr(tracing.tracer, "is_content_tracing_enabled", True)
    handle = genops_haystack.enable()
    try:
        p = Pipeline()
        p.add_component(
            "prompt", ChatPromptBuilder(template=[ChatMessage.from_user("mail {{who}}")])
        )
        p.add_component(
            "llm",
            OpenAIChatGenerator(api_key=Secret.from_token("k"), model=MODEL, api_base_url=base_url),
        )
        p.connect("prompt.prompt", "llm.messages")
        p.run({"prompt": {"who": "jane.doe@example.com"}})
    finally:
        handle.disable()
    unit = telemetry.span(f"chat {MODEL}")
    sent = str(unit.attributes["haystack.component.input"])
    assert "[REDACTED:email]" in sent and "jane.doe" not in sent
    assert "haystack.component.output" in unit.attributes
    assert "haystack.component.input" in telemetry.span("prompt").attributes


def test_agent_content_stays_off_by_default(runtime, telemetry, fake, base_url) -> None:
    from tests.haystack.test_agent import agent

    handle = genops_haystack.enable()
    try:
        agent(base_url).run(messages=[ChatMessage.from_user("hi")])
    finally:
        handle.disable()
    keys: set[str] = set()
    for s in telemetry.spans():
        keys |= set(s.attributes or {})
    content = [k for k in keys if k.startswith("haystack.") and k.endswith(("input", "output"))]
    assert content == [], content
