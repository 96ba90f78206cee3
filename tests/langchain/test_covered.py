"""Exactly one cost-bearing span when LangChain runs inside the user's own governed unit,
and a stream still being consumed never "covers" the next LangChain call."""

from __future__ import annotations

import pytest
from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.trace import SpanKind

import genops
from genops import attributes as A
from tests.langchain.conftest import parent_of
from tests.langchain.fakes import FakeChat, answer

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])
COST = 0.00024


def cost_bearing(telemetry):
    return [s for s in telemetry.spans() if A.ACCOUNTING_ACTUAL in s.attributes]


def test_llm_run_inside_a_users_unit_is_counted_once_by_that_unit(telemetry, handler):
    chain = (PROMPT | FakeChat.cycling(answer("ok"))).with_config(run_name="ask")
    with genops.governed("answer", provider="openai", model="gpt-4o-mini", span_name="answer turn"):
        chain.invoke({"question": "q"}, config={"callbacks": [handler]})
    (unit,) = cost_bearing(telemetry)
    assert unit.name == "answer turn"
    assert unit.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 1000  # the run's usage, once
    assert unit.attributes[A.COST_TOTAL] == pytest.approx(COST)
    chat = telemetry.span("chat gpt-4o-mini")
    assert chat.kind is SpanKind.CLIENT
    assert dict(chat.attributes) == {
        A.GEN_AI_OPERATION_NAME: "chat",
        A.GEN_AI_PROVIDER_NAME: "openai",
        A.PROVIDER_SOURCE: "framework",  # LangChain's ls_provider: an inference, marked
        A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        A.GEN_AI_RESPONSE_ID: "chatcmpl-1",
        A.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
    }
    spans = telemetry.spans()
    assert parent_of(telemetry.span("invoke_workflow ask"), spans) is unit
    assert A.ROLLUP_UNITS not in telemetry.span("invoke_workflow ask").attributes
    assert handler.open_runs == 0


def test_a_stream_being_consumed_does_not_cover_the_next_call(telemetry, handler):
    streaming = FakeChat.cycling(answer("one two three"))
    other = FakeChat.cycling(answer("ok", model="gpt-4o-2024-08-06"), model_name="gpt-4o")
    config = {"callbacks": [handler]}
    for i, _chunk in enumerate(streaming.stream("q", config=config)):
        if i == 0:  # the first unit is still open (and bound) here
            other.invoke("meanwhile", config=config)
    units = cost_bearing(telemetry)
    assert sorted(s.name for s in units) == ["chat gpt-4o", "chat gpt-4o-mini"]
    assert all(s.attributes[A.COST_TOTAL] > 0 for s in units)
    assert handler.open_runs == 0
