"""genops — OpenTelemetry-native governance for AI calls (GenOps spec v0.1 runtime).

::

    import genops

    genops.init(service_name="support-bot", team="support", project="helpdesk")

    with genops.attribution(customer_id="acme"):
        with genops.governed("reply", provider="openai", model="gpt-4o-mini") as unit:
            response = client.chat.completions.create(...)
            unit.record_usage(raw=response.usage, response_model=response.model)
"""

from typing import TYPE_CHECKING, Any

from genops._version import SPEC_VERSION, __version__
from genops.adapter.tools import check_tool
from genops.api import (
    budget_status,
    enforce_policy,
    governed,
    register_policy,
    reload_policies,
    track_usage,
)
from genops.attribution import Attribution, attribution, resolve_attribution
from genops.decision import DecisionResult, PolicyDecision, PolicyViolationError, ReasonCode
from genops.estimate import RequestEstimate
from genops.lifecycle import GovernedUnit, covering_unit
from genops.policy.base import Enforcement, UnitRequest
from genops.policy.errors import PolicyConfigError
from genops.policy.reload import PolicyReload
from genops.providers import ResolvedProvider, resolve_provider
from genops.rollup import Rollup, rollup_span
from genops.runtime import GenOps, get_runtime, init, shutdown
from genops.sla import SLA, current_sla, sla_boundary
from genops.usage import Usage

if TYPE_CHECKING:
    from genops.evaluation import Evaluation, record_evaluation
    from genops.preflight import PolicyCheck, check_policy

#: public names whose module loads on first use (not needed to govern a call)
_LAZY = {
    "Evaluation": "genops.evaluation",
    "record_evaluation": "genops.evaluation",
    "PolicyCheck": "genops.preflight",
    "check_policy": "genops.preflight",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'genops' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SLA",
    "SPEC_VERSION",
    "Attribution",
    "DecisionResult",
    "Enforcement",
    "Evaluation",
    "GenOps",
    "GovernedUnit",
    "PolicyCheck",
    "PolicyConfigError",
    "PolicyDecision",
    "PolicyReload",
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
    "check_policy",
    "check_tool",
    "covering_unit",
    "current_sla",
    "enforce_policy",
    "get_runtime",
    "governed",
    "init",
    "record_evaluation",
    "register_policy",
    "reload_policies",
    "resolve_attribution",
    "resolve_provider",
    "rollup_span",
    "shutdown",
    "sla_boundary",
    "track_usage",
]
