"""Fuzzed policy files: a complete, valid policy file mutated the way files really break
(lines lost, duplicated or swapped, characters replaced, YAML tokens inserted, bytes
cut) and written to disk. Loading it and building its engine raises only
``PolicyConfigError`` — never another exception — 300 files in the default suite, 6,000
in the heavy run. (tests/policy/test_loader.py fuzzes generated documents.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genops.policy import PolicyConfigError
from genops.policy.loader import build_engine, load
from tests.policy.test_loader import FULL

LINES = FULL.splitlines()
TOKENS = ["", " ", ":", "- ", "{", "}", "[", "]", "&a", "*a", "!!python/object:os.system",
          "~", "null", "1e999", "-1", "0x10", "'", '"', "\t", "%", "@", "\x00", "é", "\ud800",
          "limit: -5", "window: yearly", "type: unknown", "per: [team, team]", "models: 5"]  # fmt: skip


@st.composite
def mutated(draw: Any) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "swap", "char", "token", "indent"]))
        if op == "drop" and len(lines) > 1:
            lines.pop(i)
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "char" and lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + draw(st.characters()) + lines[i][k + 1 :]
        elif op == "token":
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(st.sampled_from(TOKENS)) + lines[i][k:]
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    return raw[: draw(st.integers(0, len(raw)))] if draw(st.booleans()) else raw


def check(tmp_path_factory: Any, raw: bytes) -> None:
    path: Path = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    path.write_bytes(raw)
    try:
        build_engine(load(path)).close()
    except PolicyConfigError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_policy_files_only_raise_policy_config_error(
    tmp_path_factory: Any, raw: bytes
) -> None:
    check(tmp_path_factory, raw)


@pytest.mark.heavy
@settings(max_examples=6000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_6000_mutated_policy_files_only_raise_policy_config_error(
    tmp_path_factory: Any, raw: bytes
) -> None:
    check(tmp_path_factory, raw)
