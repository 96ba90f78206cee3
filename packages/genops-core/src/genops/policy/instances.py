"""Every budget and rate-limit instance a ledger holds, with its current position.

::

    for status in budget_instances(engine):
        print(status.policy, status.key, status.remaining)
"""

from __future__ import annotations

from genops.policy.budget import LedgerPolicy
from genops.policy.engine import BudgetStatus, Engine


def per_values(policy: LedgerPolicy, key: str) -> dict[str, str] | None:
    """The ``per`` values encoded in ``key`` (``kind:name|field=value|...``), or None."""
    head, *parts = key.split("|")
    if head != f"{policy.kind}:{policy.name}" or len(parts) != len(policy.per):
        return None
    values: dict[str, str] = {}
    for part, field in zip(parts, policy.per, strict=True):
        name, sep, value = part.partition("=")
        if not sep or name != field:
            return None
        values[name] = value
    return values


def budget_instances(engine: Engine) -> list[BudgetStatus]:
    """One status per (policy, ``per`` values) the ledger holds data for, in policy order.

    Raises :class:`~genops.ledger.LedgerUnavailable` when the ledger cannot be read."""
    out: list[BudgetStatus] = []
    for policy in engine.policies:
        if not isinstance(policy, LedgerPolicy):
            continue
        for key in engine.ledger.keys(f"{policy.kind}:{policy.name}|"):
            values = per_values(policy, key)
            if values is not None:
                out.append(engine.budget_status(policy.name, **values))
        if not policy.per:
            out.append(engine.budget_status(policy.name))
    return out
