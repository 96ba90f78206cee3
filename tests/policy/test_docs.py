"""The policy file shown in docs/policies.md is a valid policy file, and the types table
documents every policy type."""

from __future__ import annotations

import re

import yaml

from genops.policy.loader import load
from genops.policy.schema import POLICY_TYPES
from tests.paths import REPO


def test_the_documented_policy_file_loads_and_every_type_is_documented() -> None:
    text = (REPO / "docs" / "policies.md").read_text()
    block = re.search(r"```yaml\n(version: 1.*?)```", text, re.S)
    assert block, "no policy file in docs/policies.md"
    config = load(yaml.safe_load(block.group(1)))
    shown = {p["type"] for p in yaml.safe_load(block.group(1))["policies"]}
    assert {"sla", "evaluation", "budget"} <= shown
    assert len(config.policies) == len(yaml.safe_load(block.group(1))["policies"])
    for kind in POLICY_TYPES:
        assert f"| `{kind}` |" in text, f"{kind} missing from the types table"
