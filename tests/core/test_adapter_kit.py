"""The adapter kit (genops.adapter): run tree, claims, roles, eviction, subtree ends."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.trace import SpanKind

import genops
from genops import adapter as kit
from genops import attributes as A
from genops.adapter import RunTree

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200}
COST = 0.00027  # gpt-4o-mini: 1000 × $0.15/M + 200 × $0.60/M


def parent_name(span, spans):
    if span.parent is None:
        return None
    return next(s.name for s in spans if s.context.span_id == span.parent.span_id)


def sdk_call(usage=USAGE, model="gpt-4o-mini"):
    """What an SDK-layer adapter does for one provider call (genops-native's shape)."""
    claim = kit.current_claim()
    if claim is None:
        with genops.governed("sdk.chat", provider="openai", model=model, role="call") as unit:
            unit.record_usage(raw=usage, response_model=model)
        return
    claim.add_provider_call(genops.Usage.from_provider(usage), provider="openai", model=model)


def cost_bearing(telemetry):
    return [
        s
        for s in telemetry.spans()
        if A.ACCOUNTING_ACTUAL in s.attributes and s.attributes.get(A.COST_TOTAL)
    ]


def test_tree_nests_steps_and_calls_by_framework_ids_and_rolls_up(telemetry, runtime):
    tree = RunTree()
    with telemetry.tracer.start_as_current_span("web request"):
        tree.start_step("wf", None, "invoke_workflow rag", operation="invoke_workflow")
    tree.start_step("ret", "wf", "retrieval docs", operation="retrieval")
    tree.end("ret")
    tree.start_step("agent", "wf", "invoke_agent helper", operation="invoke_agent", agent="helper")
    node = tree.start_call(
        "llm", "agent", operation_name="fw.chat", provider="openai", model="gpt-4o-mini"
    )
    assert node.agent == "helper" and node.unit is not None
    tree.record_response("llm", usage=USAGE, model="gpt-4o-mini-2024-07-18", response_id="r1")
    tree.end("llm")
    tree.end("agent")
    tree.end("wf")
    assert len(tree) == 0
    spans = telemetry.spans()
    shape = sorted((s.name, parent_name(s, spans)) for s in spans)
    assert shape == [
        ("chat gpt-4o-mini", "invoke_agent helper"),
        ("invoke_agent helper", "invoke_workflow rag"),
        ("invoke_workflow rag", "web request"),
        ("retrieval docs", "invoke_workflow rag"),
        ("web request", None),
    ]
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.kind is SpanKind.CLIENT
    assert chat.attributes[A.COST_TOTAL] == pytest.approx(COST)
    assert chat.attributes[A.GEN_AI_RESPONSE_ID] == "r1"
    for name in ("invoke_agent helper", "invoke_workflow rag"):
        attrs = telemetry.span(name).attributes
        assert attrs[A.ROLLUP_COST_TOTAL] == pytest.approx(COST)
        assert attrs[A.ROLLUP_TOKENS_INPUT] == 1000
    root = telemetry.span("invoke_workflow rag").attributes
    assert root[A.TEAM] == "platform" and root[A.GEN_AI_OPERATION_NAME] == "invoke_workflow"


def test_unit_role_is_said_by_the_caller_not_inferred(telemetry, runtime):
    with genops.governed("unknown-model call", role="call") as unit:
        assert kit.current_claim() is not None and kit.current_claim().owner is unit
        unit.record_usage(input_tokens=10, output_tokens=5)
    with genops.governed("parent", provider="openai", model="gpt-4o-mini", role="rollup") as p:
        assert kit.current_claim() is None  # a roll-up parent owns no provider call
        assert p.rollup is not None
    call = telemetry.span("chat")
    assert call.kind is SpanKind.CLIENT
    assert call.attributes[A.COST_UNKNOWN] is True
    parent = next(s for s in telemetry.spans() if s.attributes[A.OPERATION_NAME] == "parent")
    assert parent.kind is SpanKind.INTERNAL and parent.attributes[A.ACCOUNTING_ACTUAL] == 0
    with pytest.raises(ValueError, match="role"):
        genops.governed("x", role="owner")


def test_sdk_calls_from_several_threads_under_one_framework_call_count_once_each(
    telemetry, runtime
):
    tree = RunTree()
    tree.start_call(
        "llm",
        None,
        operation_name="fw.chat",
        provider="openai",
        model="gpt-4o-mini",
        bind_claim=False,
    )
    claim = tree.claim("llm")
    assert claim is not None

    def worker() -> None:
        with claim.activated():
            sdk_call()

    with ThreadPoolExecutor(4) as pool:
        for f in [pool.submit(worker) for _ in range(8)]:
            f.result()
    tree.end("llm")
    (unit,) = [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in s.attributes]
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 8 * 1000
    assert unit.attributes[A.COST_TOTAL] == pytest.approx(8 * COST)


def test_handoff_carries_the_users_claim_to_threads_and_event_loops(telemetry, runtime):
    with genops.governed("turn", provider="openai", model="gpt-4o-mini") as unit:
        hand = kit.handoff()
        threads = [threading.Thread(target=hand.run, args=(sdk_call,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        loop_thread = threading.Thread(target=lambda: asyncio.run(_async_sdk_call(hand)))
        loop_thread.start()
        loop_thread.join()
        # an unrelated thread without the hand-off opens its own unit
        t = threading.Thread(target=sdk_call)
        t.start()
        t.join()
    assert unit.provider_calls == 4
    spans = [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in s.attributes]
    assert len(spans) == 2  # the user's unit, and the unrelated thread's own


async def _async_sdk_call(hand: kit.Handoff) -> None:
    await asyncio.sleep(0)
    hand.run(sdk_call)


def test_parallel_framework_calls_inside_the_users_unit_count_every_call_once(telemetry, runtime):
    """Two overlapping framework calls, one with the SDK layer underneath and one
    reporting usage only through the framework: 2,000 input tokens, each once."""
    tree = RunTree()
    with genops.governed("turn", provider="openai", model="gpt-4o-mini", span_name="turn") as unit:
        a = tree.start_call(
            "a",
            None,
            operation_name="fw.chat",
            model="gpt-4o-mini",
            provider="openai",
            bind_claim=False,
        )
        b = tree.start_call(
            "b",
            None,
            operation_name="fw.chat",
            model="gpt-4o-mini",
            provider="openai",
            bind_claim=False,
        )
        assert a.unit is None and b.unit is None  # covered: plain spans
        with a.claim.activated():
            sdk_call()  # the SDK layer reports a
        tree.record_response("a", usage=USAGE)  # ...and so does the framework: not again
        tree.record_response("b", usage=USAGE)  # only the framework reports b
        tree.end("b")
        tree.end("a")
        assert unit.usage.input_tokens == 2000
    (owner,) = [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in s.attributes]
    assert owner.name == "turn"
    assert owner.attributes[A.COST_TOTAL] == pytest.approx(2 * COST)
    chats = [s for s in telemetry.spans() if s.name == "chat gpt-4o-mini"]
    assert len(chats) == 2 and all(A.ACCOUNTING_ACTUAL not in s.attributes for s in chats)


def test_a_runs_own_open_call_does_not_cover_its_next_call(telemetry, runtime):
    tree = RunTree()
    tree.start_call(
        "stream", None, operation_name="fw.chat", provider="openai", model="gpt-4o-mini"
    )
    second = tree.start_call(
        "next", None, operation_name="fw.chat", provider="openai", model="gpt-4o-mini"
    )
    assert second.unit is not None  # its own unit, not covered by the open one
    sdk_call()  # accounted to the innermost claim: the second call
    tree.end("next")
    tree.end("stream")
    assert second.unit.provider_calls == 1
    other = RunTree()  # another framework's call inside the first one's is covered by it
    tree.start_call("outer", None, operation_name="fw.chat", provider="openai", model="gpt-4o-mini")
    inner = other.start_call("inner", None, operation_name="fw2.chat", model="gpt-4o-mini")
    assert inner.unit is None
    other.end("inner")
    tree.end("outer")


def test_error_ends_still_open_descendants_and_releases_their_reservations(telemetry, runtime):
    runtime_engine = runtime.engine
    tree = RunTree()
    tree.start_step("root", None, "invoke_workflow w", operation="invoke_workflow")
    tree.start_step("child", "root", "inner")
    tree.start_call(
        "llm", "child", operation_name="fw.chat", provider="openai", model="gpt-4o-mini"
    )
    tree.end("root", asyncio.CancelledError())
    assert len(tree) == 0
    for name in ("invoke_workflow w", "inner", "chat gpt-4o-mini"):
        assert telemetry.span(name).attributes[A.ERROR_TYPE] == "asyncio.exceptions.CancelledError"
    chat = telemetry.span("chat gpt-4o-mini").attributes
    assert chat[A.ACCOUNTING_ACTUAL] == 0  # reservation released at once
    assert runtime_engine is runtime.engine


def test_bounded_map_evicts_the_oldest_run_with_a_clear_error(telemetry, runtime):
    tree = RunTree(max_open_runs=2)
    for i in range(3):
        tree.start_step(i, None, f"step {i}")
    assert len(tree) == 2 and 0 not in tree
    evicted = telemetry.span("step 0")
    assert evicted.attributes[A.ERROR_TYPE] == "genops.adapter.RunEvicted"
    assert not evicted.events  # no exception event for an eviction
    assert tree.end_all(RuntimeError("disabled")) == 2
    assert len(tree) == 0
    with pytest.raises(ValueError):
        RunTree(max_open_runs=0)


def test_passthrough_runs_fold_into_their_parent(telemetry, runtime):
    tree = RunTree()
    tree.start_step("root", None, "root")
    assert tree.passthrough("hidden", "root")
    assert not tree.passthrough("orphan", "nope")
    tree.start_step("leaf", "hidden", "leaf")
    tree.end("leaf")
    tree.end("hidden")
    tree.end("root")
    spans = telemetry.spans()
    assert parent_name(telemetry.span("leaf"), spans) == "root"
    assert len(spans) == 2


def test_blocked_call_raises_before_anything_is_recorded_in_the_tree(telemetry, runtime):
    genops.register_policy(
        "approved-models", lambda r: r.model == "gpt-4o-mini", reason_code="POLICY_DENY_MODEL"
    )
    tree = RunTree()
    with pytest.raises(genops.PolicyViolationError) as info:
        tree.start_call("llm", None, operation_name="fw.chat", provider="openai", model="gpt-4o")
    assert info.value.decision.reason_code == "POLICY_DENY_MODEL"
    assert len(tree) == 0
    assert kit.current_claim() is None


def test_internal_errors_are_isolated_and_counted():
    from genops import _safety

    with _safety.raise_internal_errors(False):
        with kit.guard("kit test"):
            raise RuntimeError("adapter bug")
        assert kit.safe_call("kit test", lambda: 1 / 0) is None
    assert _safety.error_counts()["kit test"] == 2
    assert kit.error_type(KeyError()) == "KeyError"


def test_guard_and_safe_call_never_swallow_a_policy_decision() -> None:
    from genops._safety import raise_internal_errors
    from genops.decision import DecisionResult, PolicyDecision

    decision = PolicyDecision(DecisionResult.BLOCKED, "POLICY_DENY_MODEL", "approved", "no")

    def blocked() -> None:
        raise genops.PolicyViolationError(decision)

    with raise_internal_errors(False):
        with kit.guard("swallows internal errors"):
            raise RuntimeError("an adapter bug")  # reported, not raised
        assert kit.safe_call("swallows", lambda: 1 / 0) is None
        with pytest.raises(genops.PolicyViolationError), kit.guard("a decision"):
            blocked()
        with pytest.raises(genops.PolicyViolationError):
            kit.safe_call("a decision", blocked)


def test_a_step_found_to_be_an_agent_is_promoted_once(telemetry, make_genops, monkeypatch):
    monkeypatch.setenv(A.ENV_SEMCONV_OPT_IN, "gen_ai_latest_experimental")
    make_genops()
    tree = RunTree()
    tree.start_step("root", None, "invoke_workflow research", operation=A.OP_INVOKE_WORKFLOW,
                    attributes={A.GEN_AI_WORKFLOW_NAME: "research"})  # fmt: skip
    assert tree.promote_to_agent("root") == "research"
    assert tree.promote_to_agent("root") is None  # once: already an agent
    assert tree.promote_to_agent("unknown") is None
    tree.start_call("llm", "root", operation_name="fw.chat", provider="openai", model="gpt-4o-mini")
    assert tree.promote_to_agent("llm") is None  # a governed call never becomes an agent
    assert tree.get("llm").agent == "research"  # started after the promotion: inherits it
    tree.end("llm")
    tree.end("root")
    span = telemetry.span("invoke_agent research")
    assert span.attributes[A.GEN_AI_OPERATION_NAME] == A.OP_INVOKE_AGENT
    assert span.attributes[A.GEN_AI_AGENT_NAME] == "research"
    metrics = telemetry.metrics()
    [agent] = metrics[A.METRIC_INVOKE_AGENT_DURATION]  # the duration is the agent's
    assert agent.attributes[A.GEN_AI_AGENT_NAME] == "research"
    assert A.METRIC_INVOKE_WORKFLOW_DURATION not in metrics


def test_endpoint_keys_find_the_url_a_model_was_built_with():
    assert kit.first_text({"openai_api_base": "https://gw.corp/v1"}, keys=kit.ENDPOINT_KEYS) == (
        "https://gw.corp/v1"
    )
    assert kit.first_text({"model": "x", "base_url": ""}, keys=kit.ENDPOINT_KEYS) is None
