"""Policy decisions before execution: the engine, its policy types and their loader."""

from genops.policy.base import (
    Admission,
    BudgetAlert,
    BudgetState,
    Enforcement,
    Estimate,
    Policy,
    PolicyEngine,
    Settlement,
    UnitRequest,
)
from genops.policy.engine import ATTRIBUTION_POLICY, CallablePolicy, Engine

__all__ = [
    "ATTRIBUTION_POLICY",
    "Admission",
    "BudgetAlert",
    "BudgetState",
    "CallablePolicy",
    "Enforcement",
    "Engine",
    "Estimate",
    "Policy",
    "PolicyEngine",
    "Settlement",
    "UnitRequest",
]
