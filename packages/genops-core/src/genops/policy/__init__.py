"""Policy decisions before execution: the engine, its policy types and their loader.

    from genops.policy import Engine, BudgetPolicy, AllowedModels
    engine = Engine([AllowedModels("approved", ["gpt-4o-mini"]),
                     BudgetPolicy("team-daily", limit=20, window="daily", per="team")],
                    ledger="sqlite:///ledger.db")

or from a file: ``genops.init(policy="genops-policy.yaml")`` (see ``docs/policies.md``).
"""

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
from genops.policy.budget import BudgetPolicy, RateLimit
from genops.policy.engine import ATTRIBUTION_POLICY, BudgetStatus, CallablePolicy, Engine
from genops.policy.errors import PolicyConfigError
from genops.policy.rules import (
    AllowedModels,
    AllowedRegions,
    ContentPolicy,
    MaxCostPerCall,
    MaxTokens,
    Scope,
)
from genops.policy.tools import AllowedTools
from genops.policy.windows import ManualClock, Window

__all__ = [
    "ATTRIBUTION_POLICY",
    "Admission",
    "AllowedModels",
    "AllowedRegions",
    "AllowedTools",
    "BudgetAlert",
    "BudgetPolicy",
    "BudgetState",
    "BudgetStatus",
    "CallablePolicy",
    "ContentPolicy",
    "Enforcement",
    "Engine",
    "Estimate",
    "ManualClock",
    "MaxCostPerCall",
    "MaxTokens",
    "Policy",
    "PolicyConfigError",
    "PolicyEngine",
    "RateLimit",
    "Scope",
    "Settlement",
    "UnitRequest",
    "Window",
]
