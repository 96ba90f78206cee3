"""The demo's scenarios: each integration's workload is governed where it should be, and
the scenario contract (entry point list or callable, ``requires``) holds."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan

from genops import attributes as A
from genops.demo import FakeProvider, Scenario, discover, register
from genops.demo import registry as demo_registry
from genops.demo.fake_provider import ANSWER
from tests.demo_fixture import demo_run

__all__ = ["demo_run"]


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        found = by_id[parent.span_id]
        names.append(found.name)
        parent = found.parent
    return names


def _calls(spans: Sequence[ReadableSpan], team: str) -> list[ReadableSpan]:
    return [
        s for s in spans
        if (s.attributes or {}).get(A.TEAM) == team and (s.attributes or {}).get(A.COST_TOTAL)
        and A.ROLLUP_UNITS not in (s.attributes or {})
    ]  # fmt: skip


#: (team, provider, model, governed calls, a framework span every call nests under)
CASES = [
    ("finance", "aws.bedrock", "amazon.nova-micro-v1:0", 3, None),
    ("legal", "openai", "gpt-4o-mini", 2, "RetrieverQueryEngine.query"),
    ("marketing", "openai", "gpt-4o-mini", 3, "invoke_workflow campaign-copy"),
]


def test_integration_scenarios_are_governed_calls(demo_run):
    """Bedrock, LlamaIndex and Haystack (one demo run for all: it is the slow part)."""
    _, telemetry, out = demo_run
    spans = telemetry.spans()
    by_id = {s.context.span_id: s for s in spans}
    for team, provider, model, count, framework_span in CASES:
        calls = _calls(spans, team)
        assert len(calls) == count, (team, [s.name for s in calls])
        for call in calls:
            attrs = call.attributes or {}
            assert (attrs[A.GEN_AI_PROVIDER_NAME], attrs[A.GEN_AI_REQUEST_MODEL]) == (
                provider, model
            )  # fmt: skip
            assert attrs[A.POLICY_RESULT] in ("ALLOWED", "WARNING")
            assert attrs.get(A.CUSTOMER_ID) or team == "legal"  # legal attributes no customer
            if framework_span:  # the call nests under the framework's own run
                assert any(framework_span in n for n in _ancestors(call, by_id)), (
                    call.name, _ancestors(call, by_id)
                )  # fmt: skip
    blocked = [
        s for s in spans
        if (s.attributes or {}).get(A.TEAM) == "finance"
        and (s.attributes or {}).get(A.POLICY_RESULT) == "BLOCKED"
    ]  # fmt: skip
    assert [(s.attributes or {})[A.GEN_AI_REQUEST_MODEL] for s in blocked] == [
        "anthropic.claude-3-opus-20240229-v1:0"
    ]
    assert "Bedrock opus blocked by 'approved-models'; requests sent: 0" in out


def test_scenario_contract_requires_and_registration(monkeypatch):
    monkeypatch.setattr(demo_registry, "_registered", [])
    present = Scenario("p", "openai", "t", "d", 1, lambda ctx: None, requires=("json",))
    absent = Scenario("a", "openai", "t", "d", 1, lambda ctx: None,
                      requires=("no_such_pkg_xyz.sub",))  # fmt: skip
    assert present.installed and not absent.installed
    register(present)
    register(absent)
    names = [s.name for s in discover()]
    assert "p" in names and "a" not in names
    # both entry point forms: a list (genops-llamaindex) and a callable (the others)
    integrations = {s.integration for s in discover()}
    assert {"openai", "anthropic", "bedrock", "langchain", "llamaindex", "haystack"} <= integrations


def _post(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_the_shipped_fake_speaks_bedrock_converse():
    messages = [{"role": "user", "content": [{"text": "Classify: INV-1"}]}]
    with FakeProvider() as fake:
        status, body = _post(
            f"{fake.url}/model/amazon.nova-micro-v1%3A0/converse",
            {"messages": messages, "inferenceConfig": {"maxTokens": 20}},
        )
        assert status == 200
        assert body["output"] == {"message": {"role": "assistant", "content": [{"text": ANSWER}]}}
        prompt = math.ceil(len(json.dumps([[], messages])) / 4)
        assert body["usage"] == {"inputTokens": prompt, "outputTokens": 20,
                                 "totalTokens": prompt + 20}  # fmt: skip
        assert body["stopReason"] == "end_turn"
        status, body = _post(f"{fake.url}/model/x/invoke", {})
        assert status == 404 and "no route /model/x/invoke" in str(body)
        assert fake.requests == 2
