"""The complete adapter in docs/adapters.md runs as written, and does what it says."""

from __future__ import annotations

import re

import pytest

import genops
from genops import attributes as A
from genops._safety import raise_internal_errors
from tests.paths import REPO


def _load_handler() -> type:
    text = (REPO / "docs" / "adapters.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/adapters.md", "exec"), namespace)
    return namespace["TinyFlowHandler"]  # type: ignore[return-value]


def test_the_documented_adapter_builds_a_governed_tree(telemetry, runtime):
    handler = _load_handler()()
    flow = {"id": 1, "kind": "flow", "name": "triage"}
    agent = {"id": 2, "parent": 1, "kind": "agent", "name": "router"}
    llm = {
        "id": 3,
        "parent": 2,
        "kind": "llm",
        "vendor": "openai",
        "model": "gpt-4o-mini",
        "prompt": "route this ticket",
        "max_tokens": 100,
    }
    for event in (flow, agent, llm):
        handler.on_start(event)
    handler.on_end({**llm, "usage": {"prompt_tokens": 1000, "completion_tokens": 200}})
    handler.on_error(agent, TimeoutError("agent gave up"))
    handler.on_end(flow)
    assert len(handler.tree) == 0
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert chat.attributes[A.COST_TOTAL] == pytest.approx(0.00027)
    assert telemetry.span("invoke_workflow triage").attributes[A.ROLLUP_COST_TOTAL] == (
        pytest.approx(0.00027)
    )
    assert telemetry.span("invoke_agent router").attributes[A.ERROR_TYPE] == "TimeoutError"


def test_the_documented_adapter_blocks_before_the_call(telemetry, runtime):
    genops.register_policy(
        "approved-models", lambda r: r.model == "gpt-4o-mini", reason_code="POLICY_DENY_MODEL"
    )
    handler = _load_handler()()
    with raise_internal_errors(False), pytest.raises(genops.PolicyViolationError):
        # production mode: guard swallows internal errors, never a policy decision
        handler.on_start({"id": 1, "kind": "llm", "model": "gpt-4o", "prompt": "hi"})
    assert len(handler.tree) == 0
