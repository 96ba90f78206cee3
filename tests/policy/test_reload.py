"""Policies that change without a restart: the policy file re-read on change or on demand,
swapped atomically, invalid files rejected once, budgets carried over."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import genops
from genops import attributes as A
from genops.policy import Engine
from tests.conftest import Telemetry

PRICES = [{"provider": "openai", "model": "acme-*", "input": 1000, "output": 1000}]
#: one call of call(): 100 in + 100 out at $1000/M = $0.20; reserved: 100 + 100 max out
COST = 0.2


def write(path: Path, doc: dict[str, Any] | str) -> None:
    """Write the policy file as an editor would, with a visibly newer mtime."""
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def doc(*policies: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"version": 1, **top, "policies": list(policies)}


def budget(name: str = "team-daily", limit: float = 10.0, **more: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": "budget",
        "limit": limit,
        "window": "daily",
        "per": "team",
        **more,
    }


def allowed(name: str, *models: str) -> dict[str, Any]:
    return {"name": name, "type": "allowed_models", "models": list(models)}


def call(model: str = "acme-small") -> None:
    with genops.governed(
        "reply", provider="openai", model=model,
        request=genops.RequestEstimate(input_tokens=100, max_output_tokens=100),
    ) as unit:  # fmt: skip
        unit.record_usage(input_tokens=100, output_tokens=100)


def engine() -> Engine:
    e = genops.get_runtime().engine
    assert isinstance(e, Engine)
    return e


def names() -> list[str]:
    return [p.name for p in engine().policies]


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    write(path, doc(allowed("approved", "acme-*"), budget()))
    return path


@pytest.fixture
def start(
    make_genops: Callable[..., genops.GenOps], policy_file: Path
) -> Callable[..., genops.GenOps]:
    def go(**kwargs: Any) -> genops.GenOps:
        kwargs.setdefault("policy_reload", 0)
        return make_genops(policy=str(policy_file), prices=PRICES, **kwargs)

    return go


def test_a_changed_file_is_picked_up_by_check_and_units_see_the_new_rules(
    telemetry: Telemetry, start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    rt = start()
    reloader = rt.policy_reloader
    assert reloader is not None
    assert reloader.check() is None  # nothing changed
    call("acme-large")
    write(policy_file, doc(allowed("approved", "acme-small"), budget()))
    outcome = reloader.check()
    assert outcome is not None and outcome.result == "applied" and outcome.ok
    assert outcome.policies == ("genops.attribution-required", "approved", "team-daily")
    with pytest.raises(genops.PolicyViolationError):
        call("acme-large")
    results = [s.attributes[A.POLICY_RESULT] for s in telemetry.spans()]
    assert results == ["ALLOWED", "BLOCKED"]
    [applied] = telemetry.metrics()[A.METRIC_POLICY_RELOADS]
    assert (applied.attributes[A.POLICY_RELOAD_RESULT], applied.value) == ("applied", 1)


def test_the_background_thread_reloads_a_configmap_style_symlink_swap(
    telemetry: Telemetry, make_genops: Callable[..., genops.GenOps], tmp_path: Path
) -> None:
    # the kubelet's layout: policy.yaml -> ..data/policy.yaml, ..data -> ..2026_v1
    v1, v2 = tmp_path / "..v1", tmp_path / "..v2"
    for version, models in ((v1, ["acme-*"]), (v2, ["acme-small"])):
        version.mkdir()
        write(version / "policy.yaml", doc(allowed("approved", *models)))
    (tmp_path / "..data").symlink_to(v1.name)
    (tmp_path / "policy.yaml").symlink_to("..data/policy.yaml")
    make_genops(policy=str(tmp_path / "policy.yaml"), prices=PRICES, policy_reload=0.02)
    call("acme-large")
    (tmp_path / "..data_tmp").symlink_to(v2.name)
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")  # the atomic swap
    deadline = time.monotonic() + 20
    rule = engine().get("approved")
    while engine().get("approved") is rule and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(genops.PolicyViolationError):
        call("acme-large")


def test_an_invalid_file_keeps_the_old_policies_and_is_reported_once(
    telemetry: Telemetry,
    start: Callable[..., genops.GenOps],
    policy_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = tmp_path / "audit.jsonl"
    write(policy_file, doc(allowed("approved", "acme-*"), audit={"sink": f"jsonl:///{sink}"}))
    rt = start()
    before = engine().policies
    write(policy_file, "version: 1\npolicies:\n  - name: approved\n    type: allowed_modles\n")
    with caplog.at_level(logging.WARNING, logger="genops"):
        first = genops.reload_policies()
        again = genops.reload_policies()
        assert rt.policy_reloader is not None and rt.policy_reloader.check() is None
    assert first.result == again.result == "error" and not first.ok
    assert first.error is not None and "unknown policy type 'allowed_modles'" in str(first.error)
    assert engine().policies is before  # untouched
    call("acme-large")  # the old rules still decide
    rejected = [r for r in caplog.records if "policy reload rejected" in r.getMessage()]
    assert len(rejected) == 1
    assert "allowed_modles" in rejected[0].getMessage()
    [errors] = telemetry.metrics()[A.METRIC_POLICY_RELOADS]
    assert (errors.attributes[A.POLICY_RELOAD_RESULT], errors.value) == ("error", 1)
    # fixed: applied, and a second distinct error would be reported again
    write(policy_file, doc(allowed("approved", "acme-small"), audit={"sink": f"jsonl:///{sink}"}))
    assert genops.reload_policies().result == "applied"
    assert genops.reload_policies().result == "unchanged"
    engine().audit.flush()  # type: ignore[union-attr]
    records = [json.loads(line) for line in sink.read_text().splitlines()]
    reloads = [r["result"] for r in records if r["operation_type"] == "policy_reload"]
    assert reloads == ["RELOAD_FAILED", "RELOADED"]


def test_a_missing_file_is_an_error_not_an_empty_policy_set(
    start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    start()
    policy_file.unlink()
    outcome = genops.reload_policies()
    assert outcome.result == "error" and "not found" in str(outcome.error)
    assert "approved" in names()


def test_budget_consumption_carries_over_when_name_and_per_are_unchanged(
    start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    start()
    call()
    call()
    write(policy_file, doc(allowed("approved", "acme-*"), budget(limit=20)))
    assert genops.reload_policies().result == "applied"
    status = genops.budget_status("team-daily", team="platform")
    assert status.consumed == pytest.approx(2 * COST)
    assert status.limit == 20
    # a new scope keeps the key too: it only decides which units are charged from now on
    write(policy_file, doc(allowed("approved", "acme-*"), budget(scope={"team": "platform"})))
    genops.reload_policies()
    call()
    assert genops.budget_status("team-daily", team="platform").consumed == pytest.approx(3 * COST)
    # renamed: a new budget, starting at zero
    write(policy_file, doc(allowed("approved", "acme-*"), budget(name="team-daily-v2")))
    genops.reload_policies()
    assert genops.budget_status("team-daily-v2", team="platform").consumed == 0
    with pytest.raises(KeyError):
        genops.budget_status("team-daily", team="platform")


def test_an_in_flight_unit_keeps_its_decision_and_settles_in_the_ledger(
    telemetry: Telemetry, start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    start()
    unit = genops.governed(
        "reply", provider="openai", model="acme-large",
        request=genops.RequestEstimate(input_tokens=100, max_output_tokens=100),
    ).start()  # fmt: skip
    write(policy_file, doc(allowed("approved", "acme-small"), budget()))
    assert genops.reload_policies().result == "applied"
    unit.record_usage(input_tokens=100, output_tokens=100)
    unit.finish()
    with pytest.raises(genops.PolicyViolationError):
        call("acme-large")
    first, second = telemetry.spans()
    assert first.attributes[A.POLICY_RESULT] == "ALLOWED"
    assert second.attributes[A.POLICY_RESULT] == "BLOCKED"
    status = genops.budget_status("team-daily", team="platform")
    assert (status.consumed, status.reserved) == (pytest.approx(COST), 0)


def test_policies_registered_in_code_survive_a_reload(
    start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    start()
    genops.register_policy("in-code", lambda r: True)
    write(policy_file, doc(allowed("approved-v2", "acme-*")))
    assert genops.reload_policies().policies == (
        "genops.attribution-required",
        "approved-v2",
        "in-code",
    )
    write(policy_file, doc(allowed("in-code", "acme-*")))
    clash = genops.reload_policies()
    assert clash.result == "error" and "also registered in code" in str(clash.error)
    assert names() == ["genops.attribution-required", "approved-v2", "in-code"]


def test_settings_that_need_a_restart_are_said_so(
    start: Callable[..., genops.GenOps], policy_file: Path, tmp_path: Path
) -> None:
    start()
    write(policy_file, doc(budget(), ledger=f"sqlite:///{tmp_path / 'l.db'}"))
    outcome = genops.reload_policies()
    assert outcome.result == "applied"
    assert outcome.notes == (
        "'ledger' changed: it applies after a restart (the current ledger stays)",
    )


def test_reload_without_a_policy_file(make_genops: Callable[..., genops.GenOps]) -> None:
    rt = make_genops(policy={"version": 1})
    assert rt.policy_reloader is None
    with pytest.raises(RuntimeError, match="no policy file"):
        genops.reload_policies()


def test_reload_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from genops.policy.reload import parse_interval

    assert parse_interval(None) == 5.0
    monkeypatch.setenv("GENOPS_POLICY_RELOAD", "off")
    assert parse_interval(None) == 0.0
    assert parse_interval(True) == 5.0 and parse_interval(False) == 0.0
    assert parse_interval("0.5") == 0.5
    for bad in ("-1", "soon", float("inf")):
        with pytest.raises(ValueError):
            parse_interval(bad)


def test_reload_under_100_concurrent_calls_loses_nothing(
    telemetry: Telemetry, start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    """100 threads call while the file flips between two versions. Every unit must have
    been decided by exactly one version's policy set (never a half-built one), and the
    ledger must hold exactly what the units spent: no reservation lost or left behind."""
    v1 = doc(allowed("gate-a", "acme-*"), budget(limit=1000))
    v2 = doc(
        allowed("gate-b", "acme-*"),
        {"name": "cap-b", "type": "max_tokens", "limit": 1000},
        budget(limit=2000),
    )
    write(policy_file, v1)
    start()
    sets = {frozenset({"gate-a", "team-daily"}), frozenset({"gate-b", "cap-b", "team-daily"})}
    errors: list[BaseException] = []
    barrier = threading.Barrier(101)
    reloaded = threading.Event()  # set once 4 reloads are done: calls spanned them
    calls = [0] * 100

    def worker(i: int) -> None:
        barrier.wait()
        try:
            while calls[i] < 5 or not reloaded.is_set():
                call()
                calls[i] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    barrier.wait()
    reloads = 0
    while any(t.is_alive() for t in threads) or reloads < 4:
        write(policy_file, v2 if reloads % 2 == 0 else v1)
        assert genops.reload_policies().result == "applied"
        reloads += 1
        if reloads >= 4:
            reloaded.set()
    for t in threads:
        t.join()
    assert errors == []
    spans = telemetry.spans()
    assert len(spans) == sum(calls) >= 500
    seen = set()
    for span in spans:
        evaluated = set(span.attributes[A.POLICY_EVALUATED_NAMES])
        assert evaluated in sets, evaluated
        seen.add(frozenset(evaluated))
        assert span.attributes[A.POLICY_RESULT] == "ALLOWED"
    assert seen == sets  # both versions decided calls: the reloads happened among them
    spent = sum(s.attributes[A.ACCOUNTING_ACTUAL] for s in spans)
    status = genops.budget_status("team-daily", team="platform")
    assert status.consumed == pytest.approx(spent) == pytest.approx(sum(calls) * COST)
    assert status.reserved == 0


def _child_watches(path: str) -> None:  # runs in a forked worker
    alive = [t for t in threading.enumerate() if t.name == "genops-policy-reload" and t.is_alive()]
    write(Path(path), doc(allowed("approved-in-child", "acme-*")))
    deadline = time.monotonic() + 20
    while "approved-in-child" not in names() and time.monotonic() < deadline:
        time.sleep(0.02)
    os._exit(0 if alive and "approved-in-child" in names() else 3)


def test_a_forked_worker_watches_the_file_itself(
    make_genops: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    make_genops(policy=str(policy_file), prices=PRICES, policy_reload=0.02)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            _child_watches(str(policy_file))
        finally:
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_reload_keeps_the_init_level_unknown_price_rule(
    telemetry: Telemetry, start: Callable[..., genops.GenOps], policy_file: Path
) -> None:
    rt = start(on_unknown_price="block")
    with pytest.raises(genops.PolicyViolationError):
        call("unpriced-model")
    write(policy_file, doc(allowed("approved", "acme-*", "unpriced-*"), budget(limit=20.0)))
    reloader = rt.policy_reloader
    assert reloader is not None
    outcome = reloader.check()
    assert outcome is not None and outcome.result == "applied"
    with pytest.raises(genops.PolicyViolationError) as blocked:
        call("unpriced-model")  # still "block": the file sets no default, init() did
    assert blocked.value.decision.reason_code == "x_price_unknown"
