"""Policy before the request, redaction, provider errors, and no double counting."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

import genops
from genops import attributes as A
from genops.policy.rules import ContentPolicy
from tests.fakes import wire
from tests.fakes.provider import FakeProvider, Reply
from tests.native.prices import reference_cost
from tests.native.spans import check_unit_span, events

MESSAGES = [{"role": "user", "content": "Hi there"}]
CLAUDE = {"model": "claude-sonnet-4-6", "max_tokens": 32, "messages": MESSAGES}


def _block_models(*models: str) -> None:
    genops.register_policy(
        "no-expensive",
        lambda request: request.model not in models,
        reason_code="POLICY_DENY_MODEL",
        reason="model not approved",
    )


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_blocked_call_sends_nothing(
    native: genops.GenOps,
    telemetry: Any,
    fake: FakeProvider,
    make_openai: Any,
    make_anthropic: Any,
    stream: bool,
) -> None:
    _block_models("gpt-4o", "claude-sonnet-4-6")
    extra = {"stream": True} if stream else {}
    with pytest.raises(genops.PolicyViolationError) as info:
        make_openai().chat.completions.create(model="gpt-4o", messages=MESSAGES, **extra)
    assert info.value.decision.reason_code == "POLICY_DENY_MODEL"
    with pytest.raises(genops.PolicyViolationError):
        await make_openai(async_=True).responses.create(model="gpt-4o", input="Hi", **extra)
    with pytest.raises(genops.PolicyViolationError):
        make_anthropic().messages.create(**CLAUDE, **extra)
    with pytest.raises(genops.PolicyViolationError):
        with make_anthropic().messages.stream(**CLAUDE):
            pass
    assert fake.request_count == 0
    spans = telemetry.spans()
    assert len(spans) == 4
    for span in spans:
        assert span.attributes[A.POLICY_RESULT] == "BLOCKED"
        assert span.attributes[A.POLICY_REASON_CODE] == "POLICY_DENY_MODEL"
        assert span.attributes[A.ERROR_TYPE].endswith("PolicyViolationError")
        assert [e.name for e in span.events] == [A.EVENT_POLICY_EVALUATED]


def test_redaction_rewrites_outgoing_messages(
    native: genops.GenOps, fake: FakeProvider, make_openai: Any, make_anthropic: Any
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    secret = "mail me at jane.doe@example.com please"
    make_openai().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": [{"type": "text", "text": secret}]}],
    )
    assert fake.last.body["messages"][0]["content"][0]["text"] == (
        "mail me at [REDACTED:email] please"
    )
    make_openai().responses.create(model="gpt-4o-mini", input=secret, instructions=secret)
    assert fake.last.body["input"] == "mail me at [REDACTED:email] please"
    assert fake.last.body["instructions"] == "mail me at [REDACTED:email] please"
    make_openai().embeddings.create(model="text-embedding-3-small", input=[secret])
    assert fake.last.body["input"] == ["mail me at [REDACTED:email] please"]
    original = [{"role": "user", "content": secret}]
    make_anthropic().messages.create(**{**CLAUDE, "messages": original, "system": secret})
    assert fake.last.body["messages"][0]["content"] == "mail me at [REDACTED:email] please"
    assert fake.last.body["system"] == "mail me at [REDACTED:email] please"
    assert original[0]["content"] == secret  # the caller's objects are not mutated


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, openai.RateLimitError), (500, openai.InternalServerError)],
    ids=["429", "500"],
)
async def test_openai_http_errors_end_unit_and_reraise(
    native: genops.GenOps,
    telemetry: Any,
    fake: FakeProvider,
    make_openai: Any,
    status: int,
    error: type[Exception],
) -> None:
    fake.script(Reply.json(wire.openai_error(status), status=status))
    fake.script(Reply.json(wire.openai_error(status), status=status))
    with pytest.raises(error) as sync_info:
        make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert type(sync_info.value) is error
    with pytest.raises(error):
        await make_openai(async_=True).embeddings.create(model="text-embedding-3-small", input="x")
    chat, emb = telemetry.spans()
    expected_type = f"{error.__module__}.{error.__qualname__}"
    check_unit_span(
        chat,
        provider="openai",
        model="gpt-4o-mini",
        op_name="openai.chat.completions",
        host="api.openai.com",
        stream=True,
        error_type=expected_type,
    )
    assert emb.attributes[A.ERROR_TYPE] == expected_type
    (reconciliation,) = events(chat, A.EVENT_BUDGET_RECONCILIATION)
    assert reconciliation[A.ACCOUNTING_ACTUAL] == 0.0  # the reservation was released


def test_anthropic_overloaded_and_timeout(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_anthropic: Any
) -> None:
    fake.script(Reply.json(wire.anthropic_error(529), status=529), Reply(timeout=True))
    client = make_anthropic()
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(**CLAUDE)
    overloaded_type = type(info.value)  # the SDK's own subclass (OverloadedError), unchanged
    with pytest.raises(anthropic.APITimeoutError):
        with client.messages.stream(**CLAUDE) as stream:
            stream.until_done()
    overloaded, timed_out = telemetry.spans()
    assert overloaded.attributes[A.ERROR_TYPE] == f"anthropic.{overloaded_type.__qualname__}"
    assert timed_out.attributes[A.ERROR_TYPE] == "anthropic.APITimeoutError"
    for span in (overloaded, timed_out):
        assert span.attributes[A.ACCOUNTING_ACTUAL] == 0.0


def test_real_socket_timeout(native: genops.GenOps, telemetry: Any, fake: FakeProvider) -> None:
    slow = Reply.json(wire.chat_completion("gpt-4o-mini"))
    slow.delay = 0.5
    fake.script(slow)
    with fake.serve() as url:
        client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0, timeout=0.1)
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.close()
    (span,) = telemetry.spans()
    assert span.attributes[A.ERROR_TYPE] == "openai.APITimeoutError"
    assert fake.request_count == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply.json(wire.chat_completion("gpt-4o-mini", usage=None)),
        Reply.json(wire.chat_completion("gpt-4o-mini", usage={"prompt_tokens": "many"})),
    ],
    ids=["missing-usage", "malformed-usage"],
)
def test_missing_or_malformed_usage_is_flagged_not_zero(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any, reply: Reply
) -> None:
    fake.script(reply)
    completion = make_openai().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content == "Hello!"
    (span,) = telemetry.spans()
    attrs = span.attributes
    if A.GEN_AI_USAGE_INPUT_TOKENS in attrs:  # malformed: counted as 0 tokens, never negative
        assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 0
    else:
        assert attrs[A.ACCOUNTING_INCOMPLETE] is True
        assert attrs[A.COST_UNKNOWN] is True
        assert attrs[A.ACCOUNTING_ACTUAL] == attrs[A.ACCOUNTING_RESERVED]


def test_malformed_body_reraises_the_sdk_error_unchanged(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    fake.script(
        Reply.raw("<html>gateway says hi</html>"), Reply.raw("<html>gateway says hi</html>")
    )
    client = make_openai()
    original = openai.resources.chat.completions.Completions.create.__genops_original__
    with pytest.raises(Exception) as bare:
        original(client.chat.completions, model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(type(bare.value)):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (span,) = telemetry.spans()
    error = type(bare.value)
    assert span.attributes[A.ERROR_TYPE] == f"{error.__module__}.{error.__qualname__}"


async def test_covering_unit_gets_usage_no_second_span(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any, make_anthropic: Any
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    with genops.governed("support-reply", provider="openai", model="gpt-4o-mini") as unit:
        make_openai().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "a@b.example.com"}]
        )
        assert fake.last.body["messages"][0]["content"] == "[REDACTED:email]"
        stream = await make_openai(async_=True).chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        assert [c async for c in stream]
        make_anthropic().messages.create(**CLAUDE)
    (span,) = telemetry.spans()  # exactly one cost-bearing span
    chat = genops.Usage(21, 7, cache_read_tokens=5, reasoning_tokens=2)
    claude = genops.Usage(165, 9, cache_read_tokens=100, cache_write_tokens=40)
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 21 + 21 + 165
    expected = reference_cost("openai", "gpt-4o-mini", chat) * 2 + reference_cost(
        "anthropic", "claude-sonnet-4-6", claude
    )
    assert span.attributes[A.COST_TOTAL] == float(expected)
    assert unit.response_model == "claude-sonnet-4-6"


def test_blocked_call_sends_nothing_over_a_real_socket(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider
) -> None:
    _block_models("gpt-4o")
    with fake.serve() as url:
        client = openai.OpenAI(api_key="k", base_url=f"{url}/v1", max_retries=0)
        with pytest.raises(genops.PolicyViolationError):
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.close()
    assert fake.request_count == 1  # only the allowed call reached the server
    assert fake.last.body["model"] == "gpt-4o-mini"
    blocked, allowed = telemetry.spans()
    assert blocked.attributes[A.POLICY_RESULT] == "BLOCKED"
    assert allowed.attributes[A.POLICY_RESULT] == "ALLOWED"


def test_messages_given_as_a_generator_are_estimated_and_redacted(
    native: genops.GenOps, telemetry: Any, fake: FakeProvider, make_openai: Any
) -> None:
    genops.register_policy(ContentPolicy("no-pii", ["email"], action="redact"))
    messages = ({"role": "user", "content": f"write to {who}@example.com"} for who in ("a", "b"))
    make_openai().chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert [m["content"] for m in fake.last.body["messages"]] == [
        "write to [REDACTED:email]",
        "write to [REDACTED:email]",
    ]
