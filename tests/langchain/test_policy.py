"""Policy before the request, attribution from run metadata/tags, errors and content."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.trace import StatusCode

import genops
from genops import attributes as A
from genops.decision import DecisionResult
from tests.langchain.conftest import by_name
from tests.langchain.fakes import FakeChat, answer

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])


def block_mini(runtime: genops.GenOps, enforcement: str = "BLOCKED") -> list[genops.UnitRequest]:
    seen: list[genops.UnitRequest] = []

    def check(request: genops.UnitRequest) -> bool:
        seen.append(request)
        return request.model != "gpt-4o-mini"

    genops.register_policy(
        "approved-models", check, reason_code="POLICY_DENY_MODEL", enforcement=enforcement
    )
    return seen


def _assert_blocked(telemetry, handler, model: FakeChat) -> None:
    assert model.stats["calls"] == 0  # the model was never called
    names = by_name(telemetry.spans())
    chat = names["chat gpt-4o-mini"][0]
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes[A.POLICY_RESULT] == "BLOCKED"
    assert chat.attributes[A.POLICY_REASON_CODE] == "POLICY_DENY_MODEL"
    assert chat.attributes[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert [e.name for e in chat.events] == [A.EVENT_POLICY_EVALUATED]
    assert A.ACCOUNTING_RESERVED not in chat.attributes
    root = names["invoke_workflow ask"][0]
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[A.ERROR_TYPE] == "genops.PolicyViolationError"
    assert A.ROLLUP_UNITS not in root.attributes
    assert handler.open_runs == 0


def test_blocked_call_never_reaches_the_model(telemetry, runtime, handler):
    block_mini(runtime)
    model = FakeChat.cycling(answer("never"))
    chain = (PROMPT | model).with_config(run_name="ask")
    with pytest.raises(genops.PolicyViolationError) as info:
        chain.invoke({"question": "hi"}, config={"callbacks": [handler]})
    assert info.value.result is DecisionResult.BLOCKED
    assert info.value.reason_code == "POLICY_DENY_MODEL"
    _assert_blocked(telemetry, handler, model)


async def test_blocked_async_and_streaming_calls_never_reach_the_model(telemetry, runtime, handler):
    block_mini(runtime)
    model = FakeChat.cycling(answer("never"))
    chain = (PROMPT | model).with_config(run_name="ask")
    with pytest.raises(genops.PolicyViolationError):
        await chain.ainvoke({"question": "hi"}, config={"callbacks": [handler]})
    _assert_blocked(telemetry, handler, model)
    telemetry.exporter.clear()
    with pytest.raises(genops.PolicyViolationError):
        async for _ in chain.astream({"question": "hi"}, config={"callbacks": [handler]}):
            pass
    _assert_blocked(telemetry, handler, model)
    telemetry.exporter.clear()
    with pytest.raises(genops.PolicyViolationError):
        for _ in chain.stream({"question": "hi"}, config={"callbacks": [handler]}):
            pass
    _assert_blocked(telemetry, handler, model)


def test_warning_lets_the_call_through_and_records_the_decision(telemetry, runtime, handler):
    seen = block_mini(runtime, enforcement="WARNING")
    model = FakeChat.cycling(answer("ok"), max_tokens=256)
    (PROMPT | model).invoke({"question": "is it open?"}, config={"callbacks": [handler]})
    assert model.stats["calls"] == 1
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.status.status_code is StatusCode.UNSET
    assert chat.attributes[A.POLICY_RESULT] == "WARNING"
    assert chat.attributes[A.POLICY_REASON_CODE] == "POLICY_DENY_MODEL"
    assert chat.attributes[A.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert chat.attributes[A.COST_TOTAL] > 0
    # the policy saw the provider, model, output cap and the message text before the call
    (request,) = seen
    assert (request.provider, request.model) == ("openai", "gpt-4o-mini")
    assert request.estimate.max_output_tokens == 256
    assert request.content == ("is it open?",)


def test_attribution_from_run_metadata_tags_and_context(telemetry, runtime, handler):
    model = FakeChat.cycling(answer("ok"))
    chain = (PROMPT | model).with_config(run_name="ask")
    with genops.attribution(team="context-team", feature="from-context"):
        chain.invoke(
            {"question": "hi"},
            config={
                "callbacks": [handler],
                "metadata": {"genops_team": "support", "genops_customer_id": "acme"},
                "tags": ["genops_project:helpdesk", "genops_team:ignored-metadata-wins"],
            },
        )
    chat = telemetry.span("chat gpt-4o-mini")
    root = telemetry.span("invoke_workflow ask")
    for span in (chat, root):
        assert span.attributes[A.TEAM] == "support"  # run metadata beats context and tags
        assert span.attributes[A.PROJECT] == "helpdesk"  # from a tag
        assert span.attributes[A.CUSTOMER_ID] == "acme"
        assert span.attributes[A.FEATURE] == "from-context"
    labels = [p.attributes for p in telemetry.metrics()[A.METRIC_COST]]
    assert labels[0][A.TEAM] == "support"
    assert labels[0][A.PROJECT] == "helpdesk"


def test_model_error_ends_the_unit_and_releases_the_reservation(telemetry, handler):
    class Down(FakeChat):
        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("provider unreachable")

    with pytest.raises(ConnectionError):
        (PROMPT | Down.cycling(answer("x"))).invoke(
            {"question": "hi"}, config={"callbacks": [handler]}
        )
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.status.status_code is StatusCode.ERROR
    assert chat.attributes[A.ERROR_TYPE] == "ConnectionError"
    assert chat.attributes[A.ACCOUNTING_ACTUAL] == 0.0  # failed, no usage: not billed
    assert [e.name for e in chat.events][-1] == "exception"
    assert handler.open_runs == 0


def test_unpriced_model_records_unknown_cost_not_zero(telemetry, handler):
    """FakeListChatModel has no ls_model_name: the model falls back to its ``_type``."""
    model = FakeListChatModel(responses=["hello"])
    (PROMPT | model).with_config(run_name="ask").invoke(
        {"question": "hi"}, config={"callbacks": [handler]}
    )
    chat = telemetry.span("chat fake-list-chat-model")
    assert chat.attributes[A.GEN_AI_REQUEST_MODEL] == "fake-list-chat-model"
    assert chat.attributes[A.GEN_AI_PROVIDER_NAME] == "fakelistchatmodel"
    assert chat.attributes[A.COST_UNKNOWN] is True
    assert A.COST_TOTAL not in chat.attributes
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in chat.attributes  # the fake reports no usage
    root = telemetry.span("invoke_workflow ask")
    assert root.attributes[A.ROLLUP_COST_UNKNOWN_UNITS] == 1
    assert A.ROLLUP_COST_TOTAL not in root.attributes


def test_content_is_captured_only_when_enabled(telemetry, make_genops):
    from genops_langchain import GenOpsCallbackHandler

    model = FakeChat.cycling(answer("the answer"))
    make_genops()
    (PROMPT | model).invoke(
        {"question": "secret?"}, config={"callbacks": [GenOpsCallbackHandler()]}
    )
    assert A.GEN_AI_INPUT_MESSAGES not in telemetry.span("chat gpt-4o-mini").attributes
    telemetry.exporter.clear()
    make_genops(capture_content=True)
    (PROMPT | model).invoke(
        {"question": "secret?"}, config={"callbacks": [GenOpsCallbackHandler()]}
    )
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.attributes[A.GEN_AI_INPUT_MESSAGES] == '[{"role": "human", "content": "secret?"}]'
    assert chat.attributes[A.GEN_AI_OUTPUT_MESSAGES] == (
        '[{"role": "assistant", "content": "the answer"}]'
    )
