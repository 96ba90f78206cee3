"""The run tree: spans and governed units keyed by a framework's own run ids.

Callback / event adapters (LangChain, LlamaIndex, Haystack, CrewAI) start work in one
callback and end it in another, maybe on another thread. A :class:`RunTree` keeps
the open runs in a bounded, locked map, parents each new span explicitly from the
framework's parent id (the first run of a tree goes under whatever OpenTelemetry
span is current when it starts), rolls cost and tokens up to every ancestor, and
never attaches OpenTelemetry context inside a callback::

    tree = RunTree()

    def on_step_start(run_id, parent_id, name):
        tree.start_step(run_id, parent_id, f"invoke_agent {name}",
                        operation="invoke_agent", attributes={"gen_ai.agent.name": name})

    def on_llm_start(run_id, parent_id, model, max_tokens, prompts):
        tree.start_call(run_id, parent_id, operation_name="my-framework.chat",
                        provider="openai", model=model,
                        request=genops.RequestEstimate(max_output_tokens=max_tokens,
                                                       texts=prompts))
        # a BLOCKED decision raises genops.PolicyViolationError here, before the call

    def on_llm_end(run_id, response):
        tree.record_response(run_id, usage=response.usage, model=response.model)
        tree.end(run_id)

    def on_error(run_id, error):
        tree.end(run_id, error)   # also ends the run's still-open descendants

A *call* (:meth:`RunTree.start_call`) is a cost-bearing governed unit, unless a unit
the user (or another framework) opened already owns the cost of calls made here: then
it is a plain ``chat {model}`` span whose usage goes to that unit — counted once,
whether the SDK layer underneath reported it or only the framework did.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from genops import _record, _safety, _unit_metrics
from genops import attributes as A
from genops.attribution import Attribution, resolve_attribution
from genops.claims import Claim, current_claim
from genops.estimate import RequestEstimate
from genops.lifecycle import ROLE_CALL, GovernedUnit
from genops.rollup import Rollup, current_rollup
from genops.usage import Usage

if TYPE_CHECKING:
    from genops.runtime import GenOps

#: Default bound of the open-run map: runs beyond it are evicted, oldest first.
DEFAULT_MAX_OPEN_RUNS = 10_000


class RunEvicted(Exception):
    """Recorded on a run that never reported its end before the run map overflowed."""


RunEvicted.__module__ = "genops.adapter"


@dataclass(slots=True, eq=False)
class Node:
    """One open run of a :class:`RunTree`."""

    #: The run's span (a passthrough run borrows its parent's).
    span: Span
    #: Roll-up of the units beneath (steps; a call's own roll-up target is its parent's).
    rollup: Rollup | None
    #: The governed unit of a call (``None`` for steps and covered calls).
    unit: GovernedUnit | None = None
    #: The claim provider calls made under this run are accounted through.
    claim: Claim | None = None
    #: Agent this run belongs to (inherited from the parent unless given).
    agent: str | None = None
    #: False for a passthrough run (no span of its own).
    owned: bool = True
    parent: Node | None = None
    #: Ids of children still open (ended with this run when it fails).
    children: set[Hashable] = field(default_factory=set)
    #: For a covered call: what the framework reported, accounted at the end unless
    #: the SDK layer already accounted the call through the claim.
    usage: Usage | None = None
    provider: str | None = None
    model: str | None = None
    streamed: bool = False
    #: The adapter's own per-run data.
    data: dict[str, Any] = field(default_factory=dict)
    #: An agent / tool / workflow step under the latest-semconv opt-in: what its
    #: ``gen_ai.*.duration`` metric needs (start, operation, attributes, labels).
    timing: tuple[float, str, dict[str, Any], dict[str, Any]] | None = None

    @property
    def is_call(self) -> bool:
        """True for a governed unit or a covered call."""
        return self.unit is not None or self.usage is not None or self.claim is not None


class RunTree:
    """Open runs of one adapter, keyed by the framework's run ids. Thread-safe.

    ``runtime`` defaults to the current :func:`genops.get_runtime` at each start.
    ``max_open_runs`` bounds the map; when full, the oldest open run is ended with
    ``error.type`` :class:`RunEvicted`.
    """

    def __init__(
        self, runtime: GenOps | None = None, *, max_open_runs: int = DEFAULT_MAX_OPEN_RUNS
    ) -> None:
        if isinstance(max_open_runs, bool) or not isinstance(max_open_runs, int):
            raise TypeError("max_open_runs must be an int")
        if max_open_runs < 1:
            raise ValueError("max_open_runs must be >= 1")
        self._runtime = runtime
        self._max = max_open_runs
        self._runs: OrderedDict[Hashable, Node] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ map
    def __len__(self) -> int:
        return len(self._runs)

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._runs

    @property
    def runtime(self) -> GenOps:
        """The runtime runs report to."""
        if self._runtime is not None:
            return self._runtime
        from genops.runtime import get_runtime

        return get_runtime()

    def get(self, run_id: Hashable | None) -> Node | None:
        """The open run ``run_id``, if any."""
        if run_id is None:
            return None
        return self._runs.get(run_id)

    def claim(self, run_id: Hashable) -> Claim | None:
        """The claim of an open call, to activate on the thread that makes the provider
        call (``with tree.claim(run_id).activated(): ...``)."""
        node = self._runs.get(run_id)
        return node.claim if node is not None else None

    def _put(self, run_id: Hashable, node: Node) -> None:
        evicted: list[tuple[Hashable, Node]] = []
        with self._lock:
            self._runs[run_id] = node
            if node.parent is not None:
                node.parent.children.add(run_id)
            while len(self._runs) > self._max:
                evicted.append(self._runs.popitem(last=False))
        for old_id, old in evicted:
            self._finish(old_id, old, RunEvicted("run never reported its end (run map full)"))

    def _context(self, parent: Node | None) -> otel_context.Context:
        if parent is not None:
            return trace.set_span_in_context(parent.span)
        return otel_context.get_current()

    # ------------------------------------------------------------------ starts
    def start_step(
        self,
        run_id: Hashable,
        parent_id: Hashable | None,
        name: str,
        *,
        operation: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        attribution: Attribution | None = None,
        agent: str | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Node:
        """Start a non-unit span (workflow, agent, tool, retrieval, any inner step).

        ``operation`` sets ``gen_ai.operation.name``. A root step (no open parent)
        also carries the run's resolved attribution, so a whole tree can be filtered
        by team. Its span carries the ``genops.rollup.*`` totals of units beneath it.
        """
        parent = self.get(parent_id)
        attrs: dict[str, Any] = {}
        if operation is not None:
            attrs[A.GEN_AI_OPERATION_NAME] = operation
        if parent is None:
            attrs.update(self.resolve_attribution(attribution).span_attributes())
        if attributes:
            attrs.update(attributes)
        span = self.runtime.instruments.tracer.start_span(
            name, context=self._context(parent), kind=kind, attributes=attrs
        )
        rollup = Rollup(span, parent=parent.rollup if parent is not None else current_rollup())
        node = Node(
            span,
            rollup,
            agent=agent if agent is not None else (parent.agent if parent else None),
            parent=parent,
        )
        if operation is not None and self.runtime.instruments.latest is not None:
            labels = _record.attribution_labels(self.runtime, self.resolve_attribution(attribution))
            node.timing = (time.perf_counter(), operation, attrs, labels)
        self._put(run_id, node)
        return node

    def passthrough(self, run_id: Hashable, parent_id: Hashable | None) -> bool:
        """Record a run without a span of its own: its children nest under its parent.

        Returns False (and records nothing) when the parent is not open; the caller
        then decides whether the run gets a span after all.
        """
        parent = self.get(parent_id)
        if parent is None:
            return False
        node = Node(parent.span, parent.rollup, agent=parent.agent, owned=False, parent=parent)
        self._put(run_id, node)
        return True

    def start_call(
        self,
        run_id: Hashable,
        parent_id: Hashable | None,
        *,
        operation_name: str,
        operation_type: str = "inference",
        gen_ai_operation: str = A.OP_CHAT,
        provider: str | None = None,
        model: str | None = None,
        request: RequestEstimate | None = None,
        attribution: Attribution | None = None,
        attributes: Mapping[str, Any] | None = None,
        bind_claim: bool = True,
    ) -> Node:
        """Start a cost-bearing call: attribution, policy, reservation — or, when a
        unit the user (or another framework) opened owns calls made here, a plain
        ``{gen_ai_operation} {model}`` CLIENT span whose usage goes to that unit.

        Raises :class:`genops.PolicyViolationError` (nothing recorded in the map) when
        the policy says no: the adapter lets it propagate so the call never happens.
        ``bind_claim`` binds the run's claim in the calling context, for frameworks
        whose callbacks run inline with the provider call; otherwise activate
        :meth:`claim` where the call is made.
        """
        parent = self.get(parent_id)
        context = self._context(parent)
        rollup = parent.rollup if parent is not None else current_rollup()
        outer = current_claim(issued_by_other_than=self)
        if outer is not None:
            attrs: dict[str, Any] = {A.GEN_AI_OPERATION_NAME: gen_ai_operation}
            if model:
                attrs[A.GEN_AI_REQUEST_MODEL] = model
            if provider:
                attrs[A.GEN_AI_PROVIDER_NAME] = provider
            if attributes:
                attrs.update(attributes)
            span = self.runtime.instruments.tracer.start_span(
                f"{gen_ai_operation} {model}" if model else gen_ai_operation,
                context=context,
                kind=SpanKind.CLIENT,
                attributes=attrs,
            )
            claim = outer.sub_claim(issuer=self, span=span)
            node = Node(span, None, claim=claim, parent=parent, provider=provider, model=model)
            node.agent = parent.agent if parent is not None else None
        else:
            unit = GovernedUnit(
                self.runtime,
                operation_name,
                operation_type=operation_type,
                provider=provider,
                model=model,
                request=request,
                gen_ai_operation=gen_ai_operation,
                kind=SpanKind.CLIENT,
                attributes=dict(attributes) if attributes else None,
                parent=context,
                rollup=rollup,
                attribution=attribution,
                role=ROLE_CALL,
            )
            unit.start()  # PolicyViolationError propagates: nothing was sent
            claim = unit.claim(issuer=self)
            node = Node(unit.span, None, unit=unit, claim=claim, parent=parent)
            node.agent = parent.agent if parent is not None else None
        if bind_claim:
            claim.bind()
        self._put(run_id, node)
        return node

    # ------------------------------------------------------------------ during a run
    def record_response(
        self,
        run_id: Hashable,
        *,
        usage: Any = None,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: list[str] | None = None,
    ) -> None:
        """What the framework reported for a call: usage (any provider shape, see
        :meth:`genops.Usage.from_provider`), response model, id and finish reasons."""
        node = self._runs.get(run_id)
        if node is None:
            return
        parsed = usage if isinstance(usage, Usage) or usage is None else Usage.from_provider(usage)
        if node.unit is not None:
            unit = node.unit
            unit.set_response(model=model, response_id=response_id, finish_reasons=finish_reasons)
            if parsed is not None:
                unit.record_usage(
                    input_tokens=parsed.input_tokens,
                    output_tokens=parsed.output_tokens,
                    cache_read_tokens=parsed.cache_read_tokens,
                    cache_write_tokens=parsed.cache_write_tokens,
                    reasoning_tokens=parsed.reasoning_tokens,
                )
            return
        if node.claim is None:
            return
        attrs: dict[str, Any] = {}
        if model:
            attrs[A.GEN_AI_RESPONSE_MODEL] = model
            node.model = model
        if response_id:
            attrs[A.GEN_AI_RESPONSE_ID] = response_id
        if finish_reasons:
            attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = finish_reasons
        if parsed is not None:
            node.usage = parsed
            attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = parsed.input_tokens
            attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = parsed.output_tokens
        node.span.set_attributes(attrs)

    def record_first_chunk(self, run_id: Hashable) -> None:
        """A call streams: its first chunk arrived (time to first chunk, stream flag)."""
        node = self._runs.get(run_id)
        if node is None or node.streamed:
            return
        node.streamed = True
        if node.unit is not None:
            node.unit.record_first_chunk()
        node.span.set_attribute(A.GEN_AI_REQUEST_STREAM, True)

    def rename(self, run_id: Hashable, name: str, attributes: Mapping[str, Any]) -> None:
        """Rename an open step's span (e.g. a chain found to be an agent)."""
        node = self._runs.get(run_id)
        if node is None or not node.owned or node.unit is not None:
            return
        node.span.update_name(name)
        node.span.set_attributes(dict(attributes))

    def promote_to_agent(self, run_id: Hashable, name: str | None = None) -> str | None:
        """A step found to be an agent after it started (e.g. it reported an agent
        action): its span becomes ``invoke_agent {name}`` with ``gen_ai.agent.name``,
        once. ``name`` defaults to the step's span name (a workflow's without its
        ``invoke_workflow`` prefix). Returns the agent name, or None when the run is
        unknown, not owned, a unit, or already an agent.

            tree.promote_to_agent(run_id)   # "invoke_workflow research" → "invoke_agent research"
        """
        node = self._runs.get(run_id)
        if node is None or node.agent is not None or not node.owned or node.unit is not None:
            return None
        if name is None:
            name = getattr(node.span, "name", None) or "agent"
            prefix = f"{A.OP_INVOKE_WORKFLOW} "
            if name.startswith(prefix):
                name = name[len(prefix) :]
        node.agent = name
        if node.timing is not None:  # its duration metric becomes the agent's
            started, _, attrs, labels = node.timing
            node.timing = (started, A.OP_INVOKE_AGENT, {**attrs, A.GEN_AI_AGENT_NAME: name}, labels)
        self.rename(
            run_id,
            f"{A.OP_INVOKE_AGENT} {name}",
            {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT, A.GEN_AI_AGENT_NAME: name},
        )
        return name

    def resolve_attribution(self, attribution: Attribution | None) -> Attribution:
        """Attribution as a unit starting now resolves it (context → baggage → init),
        with ``attribution`` (from the framework's run metadata) on top."""
        resolved = resolve_attribution(self.runtime.defaults)
        return attribution.over(resolved) if attribution is not None else resolved

    # ------------------------------------------------------------------ ends
    def end(self, run_id: Hashable, error: BaseException | None = None) -> Node | None:
        """End run ``run_id`` (finish its unit, or end its span), recording ``error``.

        A run that ends with an error also ends its descendants that are still open
        (frameworks report the error of the parent only, e.g. a cancelled async run),
        with the same error, releasing their reservations at once.
        """
        with self._lock:
            node = self._runs.pop(run_id, None)
            if node is not None and node.parent is not None:
                node.parent.children.discard(run_id)
        if node is None:
            return None
        self._finish(run_id, node, error)
        return node

    def end_all(self, error: BaseException) -> int:
        """End every open run with ``error`` (an adapter being disabled); returns how many."""
        with self._lock:
            nodes = list(self._runs.items())
            self._runs.clear()
        for run_id, node in reversed(nodes):
            self._finish(run_id, node, error)
        return len(nodes)

    def _finish(self, run_id: Hashable, node: Node, error: BaseException | None) -> None:
        if error is not None and node.children:
            for child in list(node.children):
                self.end(child, error)
        if not node.owned:
            return
        try:
            if node.unit is not None:
                node.unit.finish(error)
                return
            if node.claim is not None:  # a covered call
                claim = node.claim
                if claim.provider_calls == 0 and node.usage is not None and claim.is_open:
                    claim.add_provider_call(node.usage, provider=node.provider, model=node.model)
                claim.close()
            if error is not None:
                record_error(node.span, error)
            if node.rollup is not None:
                node.rollup.close()
            if node.timing is not None:
                started, operation, attrs, labels = node.timing
                duration = time.perf_counter() - started
                _unit_metrics.step_duration(self.runtime, operation, attrs, labels, duration, error)
        except Exception as exc:
            _safety.report(exc, "run tree end")
        node.span.end()


def record_error(span: Span, error: BaseException) -> None:
    """``error.type`` and ERROR status on ``span``, plus the ``exception`` event for
    provider and application errors (not for policy blocks or evicted runs)."""
    _record.error(span, error, exception_event=not isinstance(error, RunEvicted))
