"""The ``allowed_tools`` policy: the rule, its file format, and the kit's tool check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genops
from genops import adapter as kit
from genops import attributes as A
from genops.attribution import Attribution
from genops.audit import open_sink
from genops.policy import AllowedTools, PolicyConfigError
from genops.policy.loader import build_policy
from genops.policy.tools import X_TOOL_NOT_ALLOWED, tool_request
from tests.conftest import Telemetry

TOOLS = {
    "version": 1,
    "policies": [
        {"name": "research-tools", "type": "allowed_tools", "tools": ["search_*", "calc"],
         "scope": {"team": "research"}},
        {"name": "no-shell", "type": "allowed_tools", "tools": ["search_*"], "enforcement": "WARNING",
         "scope": {"team": "support"}},
    ],
}  # fmt: skip


def test_rule_decides_only_tool_requests() -> None:
    rule = AllowedTools("t", ["search_*"])
    research = Attribution(team="research")
    assert rule.evaluate(tool_request("search_web", research)) == rule.allow
    denied = rule.evaluate(tool_request("shell", research))
    assert denied is not None and not denied.proceeds
    assert denied.reason_code == X_TOOL_NOT_ALLOWED and denied.policy_name == "t"
    model_call = genops.UnitRequest(
        attribution=research, operation_name="reply", operation_type="inference",
        provider="openai", model="gpt-4o", estimate=tool_request("x", research).estimate,
    )  # fmt: skip
    assert rule.evaluate(model_call) is None
    scoped = AllowedTools("t", ["calc"], scope={"team": "research"})
    assert scoped.evaluate(tool_request("shell", Attribution(team="support"))) is None


@pytest.mark.parametrize("tools", [[], "calc", [""], [3]])
def test_rule_needs_a_list_of_names(tools: Any) -> None:
    with pytest.raises(ValueError, match="tools must be"):
        AllowedTools("t", tools)


def test_file_format() -> None:
    policy = build_policy({"name": "t", "type": "allowed_tools", "tools": ["a", "b*"]})
    assert isinstance(policy, AllowedTools) and policy.tools == ("a", "b*")
    with pytest.raises(PolicyConfigError, match="tools"):
        build_policy({"name": "t", "type": "allowed_tools"})
    with pytest.raises(PolicyConfigError, match="tools"):
        build_policy({"name": "t", "type": "allowed_tools", "tools": []})
    with pytest.raises(PolicyConfigError, match="unknown field"):
        build_policy({"name": "t", "type": "allowed_tools", "tools": ["a"], "models": ["x"]})


def test_check_tool_follows_attribution(make_genops: Callable[..., genops.GenOps]) -> None:
    make_genops(policy=TOOLS, team="research")
    assert genops.check_tool("search_docs").result.value == "ALLOWED"
    blocked = genops.check_tool("shell")
    assert blocked.result.value == "BLOCKED" and blocked.policy_name == "research-tools"
    with genops.attribution(team="support"):
        warned = genops.check_tool("shell")
        assert warned.result.value == "WARNING" and warned.policy_name == "no-shell"
    with genops.attribution(team="sales"):
        assert genops.check_tool("shell").result.value == "ALLOWED"  # no policy in scope


def test_start_tool_blocks_before_the_tool_runs(
    telemetry: Telemetry, make_genops: Callable[..., genops.GenOps]
) -> None:
    make_genops(policy=TOOLS, team="research")
    tree = kit.RunTree()
    tree.start_step("flow", None, "invoke_workflow flow", operation="invoke_workflow")
    kit.start_tool(tree, "ok", "flow", "calc")
    tree.end("ok")
    with pytest.raises(genops.PolicyViolationError) as caught:
        kit.start_tool(tree, "bad", "flow", "shell")
    assert caught.value.reason_code == X_TOOL_NOT_ALLOWED
    assert "bad" not in tree
    tree.end("flow")

    ok = telemetry.span("execute_tool calc")
    bad = telemetry.span("execute_tool shell")
    flow = telemetry.span("invoke_workflow flow")
    assert ok.parent is not None and ok.parent.span_id == flow.context.span_id
    assert bad.parent is not None and bad.parent.span_id == flow.context.span_id
    assert (ok.attributes or {})[A.POLICY_RESULT] == "ALLOWED"
    assert A.ERROR_TYPE not in (ok.attributes or {})
    b = dict(bad.attributes or {})
    assert b[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert b[A.GEN_AI_TOOL_NAME] == "shell" and b[A.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert b[A.POLICY_RESULT] == "BLOCKED" and b[A.POLICY_NAME] == "research-tools"
    assert [e.name for e in bad.events] == [A.EVENT_POLICY_EVALUATED]
    assert not [e for e in bad.events if e.name == "exception"]


def test_start_tool_without_tool_policies_records_no_decision(
    telemetry: Telemetry, runtime: genops.GenOps
) -> None:
    tree = kit.RunTree()
    kit.start_tool(tree, "t", None, "calc")
    tree.end("t")
    span = telemetry.span("execute_tool calc")
    assert span.events == () or list(span.events) == []
    assert A.POLICY_RESULT not in (span.attributes or {})
    assert (span.attributes or {})[A.TEAM] == "platform"  # a root step carries attribution


def test_tool_decisions_reach_the_audit_trail(
    telemetry: Telemetry, make_genops: Callable[..., genops.GenOps], tmp_path: Path
) -> None:
    url = f"jsonl:///{tmp_path / 'audit.jsonl'}"
    make_genops(policy={**TOOLS, "audit": {"sink": url}}, team="research")
    tree = kit.RunTree()
    with pytest.raises(genops.PolicyViolationError):
        kit.start_tool(tree, "bad", None, "shell")
    genops.get_runtime().engine.close()  # flushes the trail

    (record,) = open_sink(url).query(limit=10)
    span = telemetry.span("execute_tool shell")
    assert record["policy"] == "research-tools" and record["result"] == "BLOCKED"
    assert record["reason_code"] == X_TOOL_NOT_ALLOWED
    assert record["operation_type"] == "tool" and record["operation_name"] == "shell"
    assert record["team"] == "research"
    assert record["span_id"] == format(span.context.span_id, "016x")
