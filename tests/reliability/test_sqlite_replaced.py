"""Finding 6: a SQLite ledger file deleted (or replaced) while workers use it no longer
splits the budget: a worker that opened the old file notices within ``check_every``
seconds of its clock, reopens the path and shares the new file with workers started
after the deletion — logged once, counted."""

from __future__ import annotations

import logging
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from genops import _safety
from genops.attribution import Attribution
from genops.ledger.guard import GuardedLedger
from genops.ledger.sqlite import SQLiteLedger
from genops.policy import Engine, ManualClock
from genops.policy.base import Estimate, UnitRequest
from genops.policy.loader import build_engine

COST = Decimal("0.01")
DOC = {"version": 1, "policies": [
    {"name": "spend", "type": "budget", "limit": "0.02", "window": "daily"}]}  # fmt: skip
REQUEST = UnitRequest(
    attribution=Attribution(team="t"),
    operation_name="call",
    operation_type="chat",
    provider="openai",
    model="gpt-4o-mini",
    estimate=Estimate(input_tokens=1, max_output_tokens=1, cost_usd=COST),
)


def spend(engine: Engine) -> bool:
    """One unit of $0.01: True when it was admitted (and settled)."""
    admission = engine.admit(REQUEST)
    if admission.decision.proceeds:
        engine.settle(admission, cost_usd=COST, usage=None)
    return admission.decision.proceeds


def sqlite_of(engine: Engine) -> SQLiteLedger:
    ledger = engine.ledger
    inner = ledger.inner if isinstance(ledger, GuardedLedger) else ledger
    assert isinstance(inner, SQLiteLedger)
    return inner


def remove(path: Path, how: str) -> None:
    """``rm ledger.db*`` or a restore that moves another database over the path."""
    for f in path.parent.glob(path.name + "*"):
        f.unlink()
    if how == "replaced":
        other = path.with_name("restored.db")
        sqlite3.connect(other).close()
        os.replace(other, path)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_deleted_ledger_file_is_reopened_and_the_budget_stays_whole(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ledger.db"
    clock = ManualClock()
    old = build_engine(DOC, ledger=f"sqlite:///{path}", clock=clock)  # started before
    assert spend(old)
    remove(path, how)
    new = build_engine(DOC, ledger=f"sqlite:///{path}", clock=clock)  # started after
    assert spend(new)
    caplog.set_level(logging.WARNING, logger="genops")
    before = _safety.error_counts().get("ledger.sqlite.file_replaced", 0)

    clock.advance(1)  # the check runs at most once a second of the caller's clock
    assert spend(old)  # lands in the file the new worker uses: $0.02 of $0.02 there
    assert not spend(new) and not spend(old)  # the budget is whole: both see it spent
    assert new.budget_status("spend").consumed == pytest.approx(0.02)
    assert old.budget_status("spend").consumed == pytest.approx(0.02)

    warnings = [r for r in caplog.records if "SQLite ledger" in r.getMessage()]
    assert len(warnings) == 1 and how in warnings[0].getMessage()
    assert _safety.error_counts()["ledger.sqlite.file_replaced"] == before + 1
    assert (sqlite_of(old).reopened, sqlite_of(new).reopened) == (1, 0)
    old.close()
    new.close()


def test_the_check_is_on_a_schedule_not_per_call(tmp_path: Path) -> None:
    """Within ``check_every`` the old connection is still used (no stat per call); the
    first call after it reopens."""
    path = tmp_path / "ledger.db"
    clock = ManualClock()
    old = build_engine(DOC, ledger=f"sqlite:///{path}", clock=clock)
    assert spend(old)
    remove(path, "deleted")
    new = build_engine(DOC, ledger=f"sqlite:///{path}", clock=clock)
    assert spend(old)  # same second: still the unlinked file ($0.02 there)
    assert sqlite_of(old).reopened == 0
    clock.advance(sqlite_of(old).check_every)
    assert spend(old)  # reopened: the new file had nothing yet
    assert spend(new) and not spend(new) and not spend(old)  # $0.02 in the one file
    assert sqlite_of(old).reopened == 1
    old.close()
    new.close()
