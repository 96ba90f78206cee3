"""Tool allow-lists: which tools an agent may run, per team (or any scope).

A tool call is not an AI Workload Unit (it costs no tokens), but "the support team's
agents may only search the knowledge base" is governance all the same::

    AllowedTools("support-tools", ["search_kb", "lookup_*"], scope={"team": "support"})

or in a policy file::

    - name: support-tools
      type: allowed_tools
      tools: [search_kb, "lookup_*"]
      scope: {team: support}

The policy only looks at tool requests (``operation_type == "tool"``, the tool's name
in ``operation_name``); model calls are out of its scope. Adapters ask through the kit
(:func:`genops.check_tool`, :func:`genops.adapter.start_tool`), before the tool runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from genops.decision import PolicyDecision
from genops.policy.base import Enforcement, Estimate, UnitRequest
from genops.policy.rules import _globs, _Rule

#: Reason code of a tool outside its allow-list (spec §5.5 extension).
X_TOOL_NOT_ALLOWED: Final = "x_tool_not_allowed"
#: ``operation_type`` of a tool request.
TOOL: Final = "tool"
_NO_ESTIMATE = Estimate()


class AllowedTools(_Rule):
    """Only listed tools (names or globs) may run for requests in ``scope``."""

    def __init__(self, name: str, tools: Sequence[str], **common: Any) -> None:
        super().__init__(name, **common)
        if isinstance(tools, str) or not tools or not all(isinstance(t, str) and t for t in tools):
            raise ValueError("tools must be a non-empty list of tool names or globs")
        self.tools = tuple(tools)
        self._pattern = _globs(tools)

    def check(self, request: UnitRequest) -> PolicyDecision | None:
        if request.operation_type != TOOL:
            return None
        tool = request.operation_name
        if self._pattern.fullmatch(tool):
            return self.allow
        return self.deny(
            X_TOOL_NOT_ALLOWED, f"tool {tool} is not in the allowed list {list(self.tools)}"
        )


def tool_request(
    tool: str, attribution: Any, metadata: dict[str, Any] | None = None
) -> UnitRequest:
    """The request a tool policy sees for one call of ``tool``."""
    return UnitRequest(
        attribution=attribution,
        operation_name=tool,
        operation_type=TOOL,
        provider=None,
        model=None,
        estimate=_NO_ESTIMATE,
        metadata=metadata or {},
    )


def evaluate_tool(policies: Iterable[Any], request: UnitRequest) -> list[PolicyDecision]:
    """The decisions of every tool policy among ``policies`` (enforcement applied)."""
    from genops.policy.engine import apply_enforcement

    out: list[PolicyDecision] = []
    for policy in policies:
        if not isinstance(policy, AllowedTools) or policy.enforcement is Enforcement.OFF:
            continue
        decision = policy.evaluate(request)
        if decision is not None:
            out.append(apply_enforcement(decision, policy.enforcement))
    return out


__all__ = ["TOOL", "X_TOOL_NOT_ALLOWED", "AllowedTools", "evaluate_tool", "tool_request"]
