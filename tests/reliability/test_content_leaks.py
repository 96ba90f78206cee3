"""Findings 2 and 3: content policies see every text sent to the provider (tool calls,
tool results, Responses items, Anthropic blocks of every type), and exception text is
recorded scrubbed and bounded — through the real OpenAI, Anthropic and LangChain code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

import genops
from genops import attributes as A
from genops.policy.rules import ContentPolicy
from genops_langchain import GenOpsCallbackHandler
from tests.conftest import Telemetry
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.langchain.fakes import FakeChat, answer

EMAIL = "jane.canary@example.com"
CARD = "4111 1111 1111 1111"
ARGS = json.dumps({"to": EMAIL, "card": CARD})
CLAUDE = {"model": "claude-sonnet-4-6", "max_tokens": 32}


def openai_tool_call_history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "send the receipt"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "send", "arguments": ARGS}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"sent to {EMAIL}"},
    ]  # fmt: skip


def anthropic_tool_history() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "send it"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "tu_1", "name": "send",
             "input": {"to": EMAIL, "card": CARD, "nested": [{"cc": EMAIL}]}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "tu_1",
             "content": [{"type": "text", "text": f"ok {EMAIL}"}]},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                            "data": f"card {CARD}"}}]},
    ]  # fmt: skip


def responses_items() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "send it"},
        {"type": "function_call", "call_id": "c1", "name": "send", "arguments": ARGS},
        {"type": "function_call_output", "call_id": "c1", "output": f"sent to {EMAIL}"},
    ]


def requests(make_openai: Any, make_anthropic: Any) -> list[Any]:
    """Ten provider requests whose e-mail and card number are only in tool content."""
    oa, an = make_openai(), make_anthropic()
    history = openai_tool_call_history()
    return [
        lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=history),
        lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=history[:2]),
        lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=[history[0], history[2]]),
        lambda: oa.chat.completions.create(model="gpt-4o-mini", messages=history, stream=True),
        lambda: oa.responses.create(model="gpt-4o-mini", input=responses_items()),
        lambda: oa.responses.create(model="gpt-4o-mini", input=responses_items()[1:2]),
        lambda: oa.responses.create(model="gpt-4o-mini", input=responses_items()[2:]),
        lambda: an.messages.create(**CLAUDE, messages=anthropic_tool_history()),
        lambda: an.messages.create(**CLAUDE, messages=anthropic_tool_history()[:2]),
        lambda: an.messages.create(
            **CLAUDE, messages=anthropic_tool_history(),
            system=[{"type": "text", "text": f"user e-mail {EMAIL}"}],
        ),
    ]  # fmt: skip


def test_block_sees_every_text_and_sends_nothing(
    native: genops.GenOps, fake: FakeProvider, make_openai: Any, make_anthropic: Any
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email", "credit_card"], action="block"))
    for send in requests(make_openai, make_anthropic):
        with pytest.raises(genops.PolicyViolationError) as info:
            send()
        assert info.value.decision.reason_code == "POLICY_DENY_CONTENT"
    assert fake.request_count == 0


def test_redact_rewrites_every_text_the_provider_receives(
    native: genops.GenOps, fake: FakeProvider, make_openai: Any, make_anthropic: Any
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email", "credit_card"], action="redact"))
    history = openai_tool_call_history()
    for send in requests(make_openai, make_anthropic):
        stream = send()
        for _ in stream if hasattr(stream, "__next__") else ():
            pass
    assert fake.request_count == 10
    for recorded in fake.requests:
        body = json.dumps(recorded.body)
        assert EMAIL not in body and CARD not in body, body
        assert "[REDACTED:email]" in body
    # JSON arguments stay valid JSON; the caller's objects are untouched
    sent_args = fake.requests[0].body["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(sent_args) == {"to": "[REDACTED:email]", "card": "[REDACTED:credit_card]"}
    assert history == openai_tool_call_history()


def _recorded_error_text(telemetry: Telemetry) -> str:
    parts: list[str] = []
    for span in telemetry.spans():
        parts.append(str(span.status.description))
        parts.append(repr(dict(span.attributes or {})))
        parts += [repr(dict(e.attributes or {})) for e in span.events]
    return "\n".join(parts)


@pytest.mark.parametrize("redact_ips", [False, True], ids=["capture-off", "redact-policy"])
def test_provider_error_bodies_are_recorded_scrubbed(
    native: genops.GenOps,
    telemetry: Telemetry,
    fake: FakeProvider,
    make_openai: Any,
    redact_ips: bool,
) -> None:
    if redact_ips:
        genops.register_policy(ContentPolicy("no-ip", ["ip_address"], action="redact"))
    body = wire.openai_error(400)
    body["error"]["message"] = f"invalid field for {EMAIL} from 203.0.113.7 card {CARD}"
    fake.script(Reply.json(body, status=400))
    import openai

    with pytest.raises(openai.BadRequestError):
        make_openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    (span,) = telemetry.spans()
    text = _recorded_error_text(telemetry)
    assert EMAIL not in text and CARD not in text
    assert ("203.0.113.7" in text) is not redact_ips
    (event,) = [e for e in span.events if e.name == "exception"]
    attrs = dict(event.attributes or {})
    assert attrs["exception.type"] == "openai.BadRequestError"
    assert "[REDACTED:email]" in str(attrs["exception.message"])
    assert "Traceback" in str(attrs["exception.stacktrace"])
    assert span.attributes[A.ERROR_TYPE] == "openai.BadRequestError"


def test_langchain_tool_exception_text_is_scrubbed(telemetry: Telemetry, runtime: Any) -> None:
    @tool
    def lookup(customer: str) -> str:
        """Look a customer up."""
        raise ValueError(f"no account for {customer} ({EMAIL}, card {CARD})" + "x" * 5000)

    handler = GenOpsCallbackHandler()
    with pytest.raises(ValueError):
        lookup.invoke({"customer": "jane"}, config={"callbacks": [handler]})
    text = _recorded_error_text(telemetry)
    assert "execute_tool lookup" in [s.name for s in telemetry.spans()]
    assert EMAIL not in text and CARD not in text
    assert "no account for jane" in text
    status = telemetry.spans()[-1].status.description or ""
    assert len(status) <= 512


def test_langchain_tool_history_is_scanned(telemetry: Telemetry, runtime: Any) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="block"))
    model = FakeChat.cycling(answer("done"))
    history = [
        HumanMessage("send it"),
        AIMessage("", tool_calls=[{"name": "send", "args": {"to": EMAIL}, "id": "c1"}]),
        ToolMessage("ok", tool_call_id="c1"),
    ]
    with pytest.raises(genops.PolicyViolationError):
        model.invoke(history, config={"callbacks": [GenOpsCallbackHandler()]})
