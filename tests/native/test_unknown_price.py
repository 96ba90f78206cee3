"""``on_unknown_price: warn | block | estimate``: one rule, the same figure in span, ledger
and metric, on the zero-code SDK path and the LangChain path alike.

The gateway is the loopback fake (a real socket) serving models no price list knows:
``gpt-4o-mini-acme-ft`` (a fine-tune name; its family ``gpt-4o-mini`` is priced) and
``acme-llama-70b`` (self-hosted; no family, no estimate unless the user gives a rate).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import openai
import pytest

import genops
import genops_native
from genops import attributes as A
from genops.decision import X_PRICE_UNKNOWN
from tests.fakes import wire
from tests.fakes.provider import DEFAULT_CHAT_USAGE, FakeProvider, Reply
from tests.native.prices import reference_cost

FINE_TUNE = "gpt-4o-mini-acme-ft"
SELF_HOSTED = "acme-llama-70b"
USAGE = genops.Usage.from_provider(DEFAULT_CHAT_USAGE)
assert USAGE is not None
#: genai-prices' figure for the family the estimate uses
FAMILY_COST = float(reference_cost("openai", "gpt-4o-mini", USAGE))
CALLS = 3


def policy(choice: str | None = None, **budget: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "policies": [
            {"name": "daily", "type": "budget", "limit": 1.0, "window": "daily", **budget}
        ],
    }
    if choice is not None:
        doc["defaults"] = {"on_unknown_price": choice}
    return doc


@pytest.fixture
def gateway() -> Iterator[str]:
    with FakeProvider().serve() as url:
        yield f"{url}/v1"


def zero_code(gateway: str, model: str) -> None:
    client = openai.OpenAI(base_url=gateway, api_key="k", max_retries=0)
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def via_langchain(gateway: str, model: str) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    from genops_langchain import GenOpsCallbackHandler

    chat = langchain_openai.ChatOpenAI(model=model, api_key="k", base_url=gateway, max_retries=0)
    chat.invoke("hi", config={"callbacks": [GenOpsCallbackHandler()]})


PATHS = [zero_code, via_langchain]


@pytest.fixture
def start(make_genops: Any) -> Iterator[Callable[..., genops.GenOps]]:
    handle = genops_native.instrument_openai()
    yield lambda **kw: make_genops(**kw)
    handle.uninstrument()


def units(telemetry: Any) -> list[Any]:
    return [s for s in telemetry.spans() if s.attributes.get(A.SPEC_VERSION)]


def metric_sum(telemetry: Any, name: str, **labels: Any) -> float:
    points = telemetry.metrics().get(name, [])
    return sum(p.value for p in points if all(p.attributes.get(k) == v for k, v in labels.items()))


def consumed(rt: genops.GenOps) -> float:
    return float(rt.engine.budget_status("daily").consumed)  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", PATHS)
def test_estimate_same_figure_everywhere(
    start: Any, telemetry: Any, gateway: str, path: Any
) -> None:
    rt = start(policy=policy("estimate"))
    for _ in range(CALLS):
        path(gateway, FINE_TUNE)
    spans = units(telemetry)
    assert len(spans) == CALLS
    for span in spans:
        attrs = span.attributes
        assert attrs[A.COST_ESTIMATED] is True
        assert attrs[A.COST_TOTAL] == pytest.approx(FAMILY_COST)
        assert attrs[A.ACCOUNTING_ACTUAL] == pytest.approx(FAMILY_COST)  # the ledger's figure
        assert attrs[A.COST_PRICE_SOURCE] == "estimate:family"
        assert attrs[A.COST_PRICE_VERSION].startswith("openai/gpt-4o-mini (genai-prices")
        assert attrs[A.ACCOUNTING_RESERVED] > 0  # reserved at the estimated price
        assert A.COST_UNKNOWN not in attrs and A.ACCOUNTING_INCOMPLETE not in attrs
        assert attrs[A.POLICY_RESULT] == "ALLOWED"
    assert consumed(rt) == pytest.approx(CALLS * FAMILY_COST)
    assert metric_sum(telemetry, A.METRIC_COST, **{A.COST_ESTIMATED: True}) == pytest.approx(
        CALLS * FAMILY_COST
    )


@pytest.mark.parametrize("path", PATHS)
def test_warn_counts_nothing_and_says_so(
    start: Any, telemetry: Any, gateway: str, path: Any
) -> None:
    rt = start(policy=policy("warn"))
    for _ in range(CALLS):
        path(gateway, FINE_TUNE)
    for span in units(telemetry):
        assert span.attributes[A.COST_UNKNOWN] is True
        assert A.COST_TOTAL not in span.attributes
        assert span.attributes[A.POLICY_RESULT] == "WARNING"
        assert span.attributes[A.POLICY_REASON_CODE] == X_PRICE_UNKNOWN
        assert span.attributes[A.ACCOUNTING_UNIT] == "tokens"  # no USD figure to account
    assert consumed(rt) == 0  # neither the reservation nor a made-up figure
    assert metric_sum(telemetry, A.METRIC_COST) == 0
    assert metric_sum(telemetry, A.METRIC_COST_UNKNOWN) == CALLS


@pytest.mark.parametrize("path", PATHS)
def test_block_sends_nothing(start: Any, telemetry: Any, path: Any) -> None:
    fake = FakeProvider()
    start(policy=policy("block"))
    with fake.serve() as url, pytest.raises(genops.PolicyViolationError) as info:
        path(f"{url}/v1", FINE_TUNE)
    assert info.value.reason_code == X_PRICE_UNKNOWN
    assert fake.requests == []


@pytest.mark.parametrize("path", PATHS)
def test_estimate_without_a_basis_is_warn(
    start: Any, telemetry: Any, gateway: str, path: Any
) -> None:
    rt = start(policy=policy("estimate"))
    path(gateway, SELF_HOSTED)
    (span,) = units(telemetry)
    assert span.attributes[A.COST_UNKNOWN] is True
    assert span.attributes[A.POLICY_RESULT] == "WARNING"
    assert "no estimate" in span.attributes[A.POLICY_REASON]
    assert consumed(rt) == 0


@pytest.mark.parametrize("path", PATHS)
def test_estimate_from_an_estimate_only_rate(
    start: Any, telemetry: Any, gateway: str, path: Any
) -> None:
    prices = [{"model": "acme-*", "input": 1.0, "output": 2.0, "estimate": True}]
    rt = start(policy=policy("estimate"), prices=prices)
    path(gateway, SELF_HOSTED)
    expected = float(
        (Decimal(USAGE.input_tokens) * 1 + Decimal(USAGE.output_tokens) * 2) / 1_000_000
    )
    (span,) = units(telemetry)
    assert span.attributes[A.COST_TOTAL] == pytest.approx(expected)
    assert span.attributes[A.COST_PRICE_SOURCE] == "estimate:override"
    assert span.attributes[A.COST_ESTIMATED] is True
    assert consumed(rt) == pytest.approx(expected)


def test_an_estimate_only_rate_is_not_a_price(start: Any, telemetry: Any, gateway: str) -> None:
    """Without ``estimate`` the same entry prices nothing: cost unknown, not that rate."""
    start(policy=policy("warn"), prices=[{"model": "acme-*", "input": 1, "output": 2, "estimate": True}])  # fmt: skip
    zero_code(gateway, SELF_HOSTED)
    (span,) = units(telemetry)
    assert span.attributes[A.COST_UNKNOWN] is True


def test_init_argument_and_env_var_set_the_rule(
    start: Any, telemetry: Any, gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = start(policy=policy(), on_unknown_price="estimate")  # the file sets no default
    assert rt.on_unknown_price == "estimate"
    zero_code(gateway, FINE_TUNE)
    assert consumed(rt) == pytest.approx(FAMILY_COST)
    monkeypatch.setenv(A.ENV_ON_UNKNOWN_PRICE, "block")
    rt = start(policy=policy())
    assert rt.on_unknown_price == "block"
    with pytest.raises(genops.PolicyViolationError):
        zero_code(gateway, FINE_TUNE)


def test_no_policy_estimate_still_marks_span_and_metric(
    start: Any, telemetry: Any, gateway: str
) -> None:
    start(on_unknown_price="estimate")
    zero_code(gateway, FINE_TUNE)
    (span,) = units(telemetry)
    assert span.attributes[A.COST_TOTAL] == pytest.approx(FAMILY_COST)
    assert span.attributes[A.COST_ESTIMATED] is True
    assert metric_sum(telemetry, A.METRIC_COST, **{A.COST_ESTIMATED: True}) == pytest.approx(
        FAMILY_COST
    )


def test_allow_is_kept_for_older_files(start: Any, telemetry: Any, gateway: str) -> None:
    rt = start(policy=policy("allow"))
    zero_code(gateway, FINE_TUNE)
    (span,) = units(telemetry)
    assert span.attributes[A.POLICY_RESULT] == "ALLOWED"
    assert span.attributes[A.COST_UNKNOWN] is True
    assert consumed(rt) == 0


def test_an_unpriced_response_model_is_not_charged_the_reservation(
    start: Any, telemetry: Any
) -> None:
    """A gateway answering ``gpt-4o-mini`` with a deployment name no source prices: the
    call is priced at the request model (marked estimated), not charged its reservation
    (78-350x the real cost)."""
    fake = FakeProvider()
    fake.script(Reply.json(wire.chat_completion("acme-deploy-7", usage=DEFAULT_CHAT_USAGE)))
    rt = start(policy=policy())
    with fake.serve() as url:
        via_langchain(f"{url}/v1", "gpt-4o-mini")
    (span,) = units(telemetry)
    assert span.attributes[A.COST_TOTAL] == pytest.approx(FAMILY_COST)
    assert span.attributes[A.COST_PRICE_SOURCE] == "estimate:request_model"
    assert consumed(rt) == pytest.approx(FAMILY_COST)
