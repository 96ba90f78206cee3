"""Tool calls, governed before they run: the ``allowed_tools`` policy through the kit.

Any adapter whose framework has a pre-tool hook (CrewAI's ``PRE_TOOL_CALL``, LangChain's
``on_tool_start``, LlamaIndex's tool spans) asks here::

    node = kit.start_tool(tree, run_id, parent_id, "web_search")
    # a BLOCKED decision raised genops.PolicyViolationError: the tool span ended with
    # error.type and the genops.policy.evaluated event; the tool must not run
    ...
    tree.end(run_id)

or, without a span, ``genops.check_tool("web_search")`` for the winning decision.
Attribution is resolved as for any unit (context → baggage → ``init()``), so
``scope: {team: research}`` follows the team the work is attributed to.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span

from genops import _record
from genops import attributes as A
from genops.attribution import Attribution, resolve_attribution
from genops.decision import ALLOWED, PolicyDecision, PolicyViolationError, most_severe
from genops.policy.base import Admission
from genops.policy.engine import Engine
from genops.policy.tools import evaluate_tool, tool_request

if TYPE_CHECKING:
    from genops.adapter.tree import Node, RunTree
    from genops.runtime import GenOps


def _decisions(
    runtime: GenOps, tool: str, attribution: Attribution | None, span: Span | None = None
) -> list[PolicyDecision]:
    engine = runtime.engine
    policies = getattr(engine, "policies", ())
    if not policies:
        return []
    resolved = resolve_attribution(runtime.defaults)
    if attribution is not None:
        resolved = attribution.over(resolved)
    request = tool_request(tool, resolved)
    decisions = evaluate_tool(policies, request)
    if decisions and span is not None and isinstance(engine, Engine) and engine.audit is not None:
        # the audit trail answers "who was blocked" for tools too (operation_type: tool)
        request = replace(
            request,
            trace_id=_record.hex_id(span, trace=True),
            span_id=_record.hex_id(span, trace=False),
        )
        engine._audit(request, Admission(most_severe(decisions), tuple(decisions)))
    return decisions


def check_tool(
    tool: str, *, attribution: Attribution | None = None, runtime: GenOps | None = None
) -> PolicyDecision:
    """The winning decision of the ``allowed_tools`` policies for running ``tool`` now
    (``ALLOWED`` when none applies)::

        if not genops.check_tool("shell").proceeds:
            return "tool not allowed"
    """
    if runtime is None:
        from genops.runtime import get_runtime

        runtime = get_runtime()
    return most_severe(_decisions(runtime, tool, attribution)) if tool else ALLOWED


def start_tool(
    tree: RunTree,
    run_id: Hashable,
    parent_id: Hashable | None,
    tool: str,
    *,
    attributes: Mapping[str, Any] | None = None,
    attribution: Attribution | None = None,
) -> Node:
    """Start the ``execute_tool {tool}`` span of run ``run_id`` after the tool policies.

    Every evaluated decision is a ``genops.policy.evaluated`` event on the span and the
    winner is on ``genops.policy.*``. A BLOCKED decision ends the span (``error.type``
    ``genops.PolicyViolationError``) and raises :class:`genops.PolicyViolationError`:
    the adapter stops the tool (nothing is left open in the tree).
    """
    attrs: dict[str, Any] = {A.GEN_AI_TOOL_NAME: tool}
    if attributes:
        attrs.update(attributes)
    node = tree.start_step(
        run_id,
        parent_id,
        f"{A.OP_EXECUTE_TOOL} {tool}",
        operation=A.OP_EXECUTE_TOOL,
        attributes=attrs,
        attribution=attribution,
    )
    decisions = _decisions(tree.runtime, tool, attribution, node.span)
    if not decisions:
        return node
    for d in decisions:
        node.span.add_event(A.EVENT_POLICY_EVALUATED, _record.decision_event(d))
    winner = most_severe(decisions)
    summary: dict[str, Any] = {A.POLICY_RESULT: winner.result.value}
    if winner.reason_code is not None:
        summary[A.POLICY_REASON_CODE] = winner.reason_code
    if winner.policy_name:
        summary[A.POLICY_NAME] = winner.policy_name
    node.span.set_attributes(summary)
    if not winner.proceeds:
        error = PolicyViolationError(winner, operation_name=tool)
        tree.end(run_id, error)  # error.type + ERROR status, no exception event
        raise error
    return node


__all__ = ["check_tool", "start_tool"]
