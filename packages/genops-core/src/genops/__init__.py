"""genops — OpenTelemetry-native governance for AI calls (GenOps spec v0.1 runtime).

::

    import genops

    genops.init(service_name="support-bot", team="support", project="helpdesk")

    with genops.attribution(customer_id="acme"):
        with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
            response = client.chat.completions.create(...)
            unit.record_usage(raw=response.usage, response_model=response.model)
"""

from genops._version import SPEC_VERSION, __version__
from genops.adapter.tools import check_tool
from genops.api import budget_status, enforce_policy, governed, register_policy, track_usage
from genops.attribution import Attribution, attribution, resolve_attribution
from genops.decision import DecisionResult, PolicyDecision, PolicyViolationError, ReasonCode
from genops.estimate import RequestEstimate
from genops.lifecycle import GovernedUnit, covering_unit
from genops.policy.base import Enforcement, UnitRequest
from genops.policy.errors import PolicyConfigError
from genops.providers import ResolvedProvider, resolve_provider
from genops.rollup import Rollup, rollup_span
from genops.runtime import GenOps, get_runtime, init, shutdown
from genops.usage import Usage

__all__ = [
    "SPEC_VERSION",
    "Attribution",
    "DecisionResult",
    "Enforcement",
    "GenOps",
    "GovernedUnit",
    "PolicyConfigError",
    "PolicyDecision",
    "PolicyViolationError",
    "ReasonCode",
    "RequestEstimate",
    "ResolvedProvider",
    "Rollup",
    "UnitRequest",
    "Usage",
    "__version__",
    "attribution",
    "budget_status",
    "check_tool",
    "covering_unit",
    "enforce_policy",
    "get_runtime",
    "governed",
    "init",
    "register_policy",
    "resolve_attribution",
    "resolve_provider",
    "rollup_span",
    "shutdown",
    "track_usage",
]
