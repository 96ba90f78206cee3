"""LangChain tools go through the kit's ``allowed_tools`` check before they run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import genops
from genops import attributes as A
from genops_langchain import GenOpsCallbackHandler
from tests.conftest import Telemetry
from tests.langchain.fakes import get_time, get_weather

POLICY = {
    "version": 1,
    "policies": [{"name": "ops-tools", "type": "allowed_tools", "tools": ["get_weather"]}],
}


def test_a_tool_outside_the_allow_list_never_runs(
    telemetry: Telemetry, make_genops: Callable[..., genops.GenOps]
) -> None:
    make_genops(policy=POLICY, team="ops")
    config = {"callbacks": [GenOpsCallbackHandler()]}
    assert get_weather.invoke({"city": "Oslo"}, config=config) == "sunny in Oslo"
    with pytest.raises(genops.PolicyViolationError) as caught:
        get_time.invoke({"city": "Oslo"}, config=config)
    assert caught.value.policy_name == "ops-tools"
    ok = dict(telemetry.span("execute_tool get_weather").attributes or {})
    bad = dict(telemetry.span("execute_tool get_time").attributes or {})
    assert ok[A.POLICY_RESULT] == "ALLOWED" and A.ERROR_TYPE not in ok
    assert bad[A.POLICY_RESULT] == "BLOCKED"
    assert bad[A.ERROR_TYPE] == "genops.PolicyViolationError"
