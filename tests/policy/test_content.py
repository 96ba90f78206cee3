"""Content detectors (zero-dependency) and the redact action through the lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import genops
from genops import attributes as A
from genops.policy.detectors import (
    DETECTOR_NAMES,
    find,
    iban_valid,
    luhn_valid,
    redact_text,
    scan,
)
from tests.conftest import Telemetry


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("email", "write to jane.doe+billing@mail.example.co.uk today"),
        ("credit_card", "card 4111 1111 1111 1111 exp 12/29"),
        ("credit_card", "amex 3782-822463-10005"),
        ("credit_card", "visa 4012888888881881"),
        ("iban", "pay DE89 3704 0044 0532 0130 00 please"),
        ("iban", "GB82WEST12345698765432"),
        ("ssn", "ssn 123-45-6789"),
        ("phone", "call +1 415-555-0132 now"),
        ("phone", "tel (030) 1234 5678"),
        ("ip_address", "from 192.168.10.4 via 2001:db8::8a2e:370:7334"),
        ("api_key", "key sk-proj-abcdefghijklmnopqrstuvwx123"),
        ("api_key", "AKIAIOSFODNN7EXAMPLE is an AWS key id"),
        ("api_key", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("api_key", "anthropic sk-ant-api03-abcdefghijklmnopqrstuvwxyz"),
    ],
)
def test_detectors_find(kind: str, text: str) -> None:
    assert scan(text, (kind,)).get(kind, 0) >= 1
    assert f"[REDACTED:{kind}]" in redact_text(text, (kind,))


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("email", "not an email: jane.doe at example dot com"),
        ("credit_card", "order 4111 1111 1111 1112 (bad Luhn)"),
        ("credit_card", "1234567890123"),
        ("iban", "DE00 3704 0044 0532 0130 00"),  # wrong check digits
        ("ssn", "000-12-3456 and 666-12-3456 and 123-00-4567"),
        ("ip_address", "version 1.2.3.4.5 and 300.1.1.1 and 12:30:45"),
        ("api_key", "sk-short"),
        ("phone", "the year 2026 and 42"),
    ],
)
def test_detectors_do_not_flag(kind: str, text: str) -> None:
    assert scan(text, (kind,)) == {}


def test_checksums() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert iban_valid("FR14 2004 1010 0505 0001 3M02 606")
    assert not iban_valid("FR15 2004 1010 0505 0001 3M02 606")


def test_only_requested_detectors_run() -> None:
    text = "jane@example.com 123-45-6789"
    assert scan(text, ("ssn",)) == {"ssn": 1}
    assert redact_text(text, ("email",)) == "[REDACTED:email] 123-45-6789"
    assert set(DETECTOR_NAMES) == {
        "email", "credit_card", "iban", "ssn", "phone", "ip_address", "api_key"
    }  # fmt: skip


def test_redact_action_hands_a_redactor_and_redacts_recorded_content(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        capture_content=True,
        policy={
            "version": 1,
            "policies": [
                {
                    "name": "no-pii",
                    "type": "content",
                    "action": "redact",
                    "detect": ["email", "credit_card"],
                },
            ],
        },
    )
    prompt = "refund card 4111 1111 1111 1111 for bob@example.com"
    with genops.governed(
        "reply", provider="openai", model="gpt-4o-mini",
        request=genops.RequestEstimate(texts=(prompt,)),
    ) as unit:  # fmt: skip
        assert unit.redact is not None
        outgoing = unit.redact(prompt)  # what an adapter sends to the provider
        unit.record_content(input_messages=[{"role": "user", "content": prompt}])
        unit.record_usage(input_tokens=10, output_tokens=5)
    assert outgoing == "refund card [REDACTED:credit_card] for [REDACTED:email]"
    attrs = dict(telemetry.spans()[-1].attributes or {})
    recorded = json.loads(str(attrs[A.GEN_AI_INPUT_MESSAGES]))
    assert "4111" not in json.dumps(recorded) and "bob@" not in json.dumps(recorded)
    assert attrs[A.POLICY_RESULT] == "WARNING"
    assert attrs[A.POLICY_REASON_CODE] == "POLICY_DENY_CONTENT"
    assert attrs[A.POLICY_REASON] == "redacted email×1, credit_card×1"


def test_redactor_is_available_even_without_declared_texts(
    make_genops: Callable[..., genops.GenOps], telemetry: Telemetry
) -> None:
    make_genops(
        policy={"version": 1, "policies": [
            {"name": "keys", "type": "content", "action": "redact", "detect": ["api_key"],
             "replacement": "***"}]},
    )  # fmt: skip
    with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
        assert unit.redact is not None
        assert unit.redact("use sk-abcdefghijklmnopqrstuvwxyz") == "use ***"
    attrs = dict(telemetry.spans()[-1].attributes or {})
    assert attrs[A.POLICY_RESULT] == "ALLOWED"


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("0123456789 -.@:()+abcdefABCDEFXYZsk_\u0663\n"), max_size=120)
)
def test_fuzzed_text_never_breaks_the_detectors(text: str) -> None:
    hits = find(text, DETECTOR_NAMES)
    assert all(0 <= s < e <= len(text) for _, s, e in hits)
    redacted = redact_text(text, DETECTOR_NAMES)
    assert isinstance(redacted, str)
    if hits:
        assert "[REDACTED:" in redacted
    else:
        assert redacted == text
