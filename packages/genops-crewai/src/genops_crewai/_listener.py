"""CrewAI → the genops adapter kit: interception points for structure and governance,
event-bus events for what only events carry (usage, provider and tool errors).

Why interception points first: CrewAI runs event-bus handlers on a thread pool, so a
task's start handler may run after its first LLM call's. Its interception points
(``EXECUTION_START``/``END``, ``PRE``/``POST_STEP``, ``PRE_MODEL_CALL``,
``PRE``/``POST_TOOL_CALL``) run inline, in order, on the thread and in the context that
does the work — the OpenTelemetry span, attribution and claim a call must see. Usage
arrives on ``LLMCallCompletedEvent``, whose handler runs in a copy of the emitting
context: the context the pre-call hook bound the call in, which is how the event finds
its call. Before a step ends, the bus is flushed so its last call's usage is in.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Hashable
from typing import Any

from crewai.events import (
    LLMCallCompletedEvent,
    LLMCallFailedEvent,
    LLMStreamChunkEvent,
    ToolUsageErrorEvent,
    crewai_event_bus,
)
from crewai.events.base_event_listener import BaseEventListener
from crewai.events.event_bus import CrewAIEventsBus
from crewai.hooks import HookAborted, InterceptionPoint, register_hook, unregister_hook

import genops
from genops import GenOps, PolicyViolationError, RequestEstimate, Usage
from genops import adapter as kit
from genops import attributes as A

#: Seconds a step end waits for CrewAI's handlers of the events emitted before it.
FLUSH_TIMEOUT = 10.0
#: ``genops.operation.name`` of a CrewAI LLM call.
OPERATION = "crewai.llm"
TASK_NAME = "crewai.task.name"
TASK_ID = "crewai.task.id"
CREW_ID = "crewai.crew.id"
AGENT_ID = "gen_ai.agent.id"  # (semconv; genops.attributes has no constant for it)

#: Open crew / task / tool runs of the current execution context, innermost last.
_stack: contextvars.ContextVar[tuple[Hashable, ...]] = contextvars.ContextVar(
    "genops_crewai_stack", default=()
)
#: The LLM call the pre-call hook opened in this context (found again by its events).
_call: contextvars.ContextVar[Hashable | None] = contextvars.ContextVar(
    "genops_crewai_call", default=None
)


class GenOpsBlocked(HookAborted, PolicyViolationError):
    """A genops policy stopped a CrewAI model call (or tool) before it was sent.

    Both CrewAI's :class:`~crewai.hooks.HookAborted` — the one hook error CrewAI lets
    through to ``crew.kickoff()`` instead of feeding it back to the agent — and
    :class:`genops.PolicyViolationError`, with the decision::

        try:
            crew.kickoff()
        except genops.PolicyViolationError as err:
            print(err.policy_name, err.reason_code)
    """

    def __init__(self, error: PolicyViolationError) -> None:
        PolicyViolationError.__init__(self, error.decision, operation_name=error.operation_name)
        self.source: Any = "genops"


class LLMCallFailed(Exception):
    """A CrewAI LLM call failed (CrewAI's ``LLMCallFailedEvent`` message)."""


class ToolFailed(Exception):
    """A CrewAI tool raised (CrewAI's ``ToolUsageErrorEvent``)."""


for _cls in (GenOpsBlocked, LLMCallFailed, ToolFailed):
    _cls.__module__ = "genops_crewai"  # error.type = its public path


def _innermost(tree: kit.RunTree) -> Hashable | None:
    for key in reversed(_stack.get()):
        if key in tree:
            return key
    return None


def _push(key: Hashable) -> None:
    _stack.set((*_stack.get(), key))


def _pop(kind: str) -> Hashable | None:
    """Remove the innermost entry of ``kind`` from the stack; return it."""
    stack = _stack.get()
    for i in range(len(stack) - 1, -1, -1):
        key = stack[i]
        if isinstance(key, tuple) and key[0] == kind:
            _stack.set(stack[:i] + stack[i + 1 :])
            return key
    return None


def _usage(raw: Any) -> Usage | None:
    """CrewAI's flattened usage (``prompt_tokens``, ``cached_prompt_tokens``, …)."""
    if not isinstance(raw, dict) or "prompt_tokens" not in raw:
        return None
    return Usage.from_provider(
        {
            "prompt_tokens": raw.get("prompt_tokens"),
            "completion_tokens": raw.get("completion_tokens"),
            "prompt_tokens_details": {"cached_tokens": raw.get("cached_prompt_tokens") or 0},
            "completion_tokens_details": {"reasoning_tokens": raw.get("reasoning_tokens") or 0},
        }
    )


class GenOpsListener(BaseEventListener):
    """Crews, tasks, agent turns, tools and LLM calls as governed, nested spans.

    Created (and registered on CrewAI's event bus and hooks) by
    :func:`genops_crewai.enable`, which ``genops.init()`` calls::

        handle = genops_crewai.enable()
        crew.kickoff()          # invoke_workflow → invoke_agent → chat / execute_tool
        handle.uninstrument()
    """

    def __init__(self, runtime: GenOps | None = None) -> None:
        self.tree = kit.RunTree(runtime)
        self._ids = itertools.count()
        self._agents: dict[str, Hashable] = {}  # CrewAI task id → its invoke_agent run
        self._events: list[tuple[type[Any], Callable[..., None]]] = []
        self._hooks: list[tuple[InterceptionPoint, Callable[[Any], Any]]] = []
        self._on = True
        super().__init__()
        for point, hook in (
            (InterceptionPoint.EXECUTION_START, self._crew_start),
            (InterceptionPoint.EXECUTION_END, self._crew_end),
            (InterceptionPoint.PRE_STEP, self._task_start),
            (InterceptionPoint.POST_STEP, self._task_end),
            (InterceptionPoint.PRE_MODEL_CALL, self._llm_start),
            (InterceptionPoint.POST_MODEL_CALL, self._llm_returned),
            (InterceptionPoint.PRE_TOOL_CALL, self._tool_start),
            (InterceptionPoint.POST_TOOL_CALL, self._tool_end),
        ):
            wrapped = self._while_on(hook)
            register_hook(point, wrapped)
            self._hooks.append((point, wrapped))

    # ------------------------------------------------------------------ registration
    def setup_listeners(self, crewai_event_bus: CrewAIEventsBus) -> None:
        for event, handler in (
            (LLMCallCompletedEvent, self._llm_completed),
            (LLMCallFailedEvent, self._llm_failed),
            (LLMStreamChunkEvent, self._llm_chunk),  # (dispatched inline, in order)
            (ToolUsageErrorEvent, self._tool_error),
        ):
            crewai_event_bus.on(event)(handler)
            self._events.append((event, handler))

    def _while_on(self, hook: Callable[[Any], None]) -> Callable[[Any], None]:
        # (an agent executor keeps the hooks it copied when it was created)
        def run(ctx: Any) -> None:
            if self._on:
                hook(ctx)

        return run

    def uninstrument(self) -> None:
        """Unregister the hooks and handlers; runs still open are ended. Idempotent."""
        self._on = False
        for point, hook in self._hooks:
            unregister_hook(point, hook)
        for event, handler in self._events:
            crewai_event_bus.off(event, handler)
        self._hooks.clear()
        self._events.clear()
        self.tree.end_all(kit.RunEvicted("genops-crewai was disabled"))

    def _key(self, kind: str) -> tuple[str, int]:
        return (kind, next(self._ids))

    def _flush(self) -> None:
        crewai_event_bus.flush(timeout=FLUSH_TIMEOUT)

    # ------------------------------------------------------------------ crew
    def _crew_start(self, ctx: Any) -> None:
        crew = getattr(ctx, "crew", None)
        if crew is None:
            return
        with kit.guard("crewai crew start"):
            name = str(getattr(crew, "name", None) or "crew")
            key = self._key("crew")
            self.tree.start_step(
                key,
                _innermost(self.tree),
                f"{A.OP_INVOKE_WORKFLOW} {name}",
                operation=A.OP_INVOKE_WORKFLOW,
                attributes={A.GEN_AI_WORKFLOW_NAME: name, CREW_ID: str(crew.id)},
            )
            _push(key)

    def _crew_end(self, ctx: Any) -> None:
        if getattr(ctx, "crew", None) is None:
            return
        with kit.guard("crewai crew end"):
            key = _pop("crew")
            if key is None:
                return
            self._flush()
            error = getattr(ctx, "error", None)
            if error is None and getattr(ctx, "status", None) == "failed":
                error = RuntimeError("crew kickoff failed")
            self._end_open_calls(key)
            self.tree.end(key, error if isinstance(error, BaseException) else None)
            for task_id, run in list(self._agents.items()):  # turns a failure ended
                if run not in self.tree:
                    self._agents.pop(task_id, None)

    # ------------------------------------------------------------------ task → agent turn
    def _task_start(self, ctx: Any) -> None:
        task, agent = getattr(ctx, "task", None), getattr(ctx, "agent", None)
        if getattr(ctx, "kind", None) != "task" or task is None:
            return
        with kit.guard("crewai task start"):
            key = self._agent(task, agent, _innermost(self.tree))
            _push(key)

    def _agent(self, task: Any, agent: Any, parent: Hashable | None) -> Hashable:
        role = str(getattr(agent, "role", None) or "agent")
        key = self._key("task")
        attrs: dict[str, Any] = {A.GEN_AI_AGENT_NAME: role, TASK_ID: str(task.id)}
        if getattr(task, "name", None):  # (never the description: that is prompt content)
            attrs[TASK_NAME] = str(task.name)[:200]
        if getattr(agent, "id", None) is not None:
            attrs[AGENT_ID] = str(agent.id)
        self.tree.start_step(
            key,
            parent,
            f"{A.OP_INVOKE_AGENT} {role}",
            operation=A.OP_INVOKE_AGENT,
            attributes=attrs,
            agent=role,
        )
        self._agents[str(task.id)] = key
        return key

    def _task_end(self, ctx: Any) -> None:
        if getattr(ctx, "kind", None) != "task":
            return
        with kit.guard("crewai task end"):
            key = _pop("task")
            if key is None:
                return
            self._flush()
            self._end_agent(key)

    def _end_agent(self, key: Hashable) -> None:
        for task_id, run in list(self._agents.items()):
            if run == key:
                del self._agents[task_id]
        self._end_open_calls(key)
        self.tree.end(key)

    def _end_open_calls(self, key: Hashable) -> None:
        """Calls under ``key`` without a completion event: one that returned (an LLM class
        that emits no events) ends with its usage unknown — charged its reservation,
        flagged incomplete, never $0; one that never returned (another hook aborted it
        after ours: nothing was sent) ends evicted, its reservation released."""
        node = self.tree.get(key)
        for child in list(node.children) if node is not None else ():
            open_child = self.tree.get(child)
            if open_child is not None and open_child.is_call:
                returned = open_child.data.get("returned")
                self.tree.end(child, None if returned else kit.RunEvicted("no completion"))

    def _parent(self, ctx: Any) -> Hashable | None:
        """The agent turn of the hook's task (a delegated coworker gets its own, under
        the delegating tool), else the innermost open run of this context."""
        task = getattr(ctx, "task", None)
        inner = _innermost(self.tree)
        if task is None:
            return inner
        key = self._agents.get(str(task.id))
        if key is not None and key in self.tree:
            return key
        if inner is None or not isinstance(inner, tuple) or inner[0] != "tool":
            return inner
        key = self._agent(task, getattr(ctx, "agent", None), inner)
        tool = self.tree.get(inner)
        if tool is not None:
            tool.data.setdefault("agents", []).append(key)
        return key

    # ------------------------------------------------------------------ LLM calls
    def _llm_start(self, ctx: Any) -> None:
        _call.set(None)
        blocked: PolicyViolationError | None = None
        with kit.guard("crewai llm start"):  # (a guard swallows: the block is raised below)
            try:
                self._open_call(ctx)
            except PolicyViolationError as error:
                blocked = error
        if blocked is not None:
            raise GenOpsBlocked(blocked) from None

    def _open_call(self, ctx: Any) -> None:
        llm = getattr(ctx, "llm", None)
        model = getattr(llm, "model", None)
        model = model if isinstance(model, str) else None
        base_url = getattr(llm, "base_url", None) or getattr(llm, "api_base", None)
        provider = genops.resolve_provider(
            base_url=base_url if isinstance(base_url, str) else None,
            hint=getattr(llm, "provider", None),
            model=model,
        ).name
        max_tokens = getattr(llm, "max_completion_tokens", None) or getattr(llm, "max_tokens", None)
        messages = getattr(ctx, "messages", None)
        attrs: dict[str, Any] = {}
        agent, task = getattr(ctx, "agent", None), getattr(ctx, "task", None)
        role = getattr(agent, "role", None)
        if role:
            attrs[A.GEN_AI_AGENT_NAME] = str(role)
        if task is not None:
            attrs[TASK_ID] = str(task.id)
        key = self._key("llm")
        node = self.tree.start_call(
            key,
            self._parent(ctx),
            operation_name=OPERATION,
            provider=provider,
            model=model,
            request=RequestEstimate(
                max_output_tokens=int(max_tokens) if max_tokens else None,
                texts=kit.payload_texts(messages),
            ),
            attributes=attrs,
        )
        _call.set(key)
        unit = node.unit
        redact = unit.redact if unit is not None else None
        if callable(redact) and isinstance(messages, list):
            messages[:] = kit.redact_payload(messages, redact)
        if unit is not None and unit.runtime.capture_content:  # opt-in; redacted on record
            unit.record_content(input_messages=messages)

    def _llm_completed(self, source: Any, event: LLMCallCompletedEvent) -> None:
        key = _call.get()
        if key is None or key not in self.tree:
            return
        with kit.guard("crewai llm completed"):
            node = self.tree.get(key)
            if node is not None and node.unit is not None and node.unit.runtime.capture_content:
                node.unit.record_content(
                    output_messages=[{"role": "assistant", "content": event.response}]
                )
            self.tree.record_response(
                key,
                usage=_usage(event.usage),
                response_id=event.response_id,
                finish_reasons=[event.finish_reason] if event.finish_reason else None,
            )
            self.tree.end(key)

    def _llm_returned(self, ctx: Any) -> None:
        node = self.tree.get(_call.get())
        if node is not None:
            node.data["returned"] = True

    def _llm_chunk(self, source: Any, event: LLMStreamChunkEvent) -> None:
        key = _call.get()
        if key is not None:
            with kit.guard("crewai llm chunk"):
                self.tree.record_first_chunk(key)

    def _llm_failed(self, source: Any, event: LLMCallFailedEvent) -> None:
        key = _call.get()
        if key is None or key not in self.tree:
            return
        with kit.guard("crewai llm failed"):
            self.tree.end(key, LLMCallFailed(event.error))

    # ------------------------------------------------------------------ tools
    def _tool_start(self, ctx: Any) -> None:
        key: Hashable = self._key("tool")
        blocked: PolicyViolationError | None = None
        with kit.guard("crewai tool start"):
            name = str(getattr(ctx, "tool_name", None) or "tool")
            try:
                kit.start_tool(self.tree, key, self._parent(ctx), name)
            except PolicyViolationError as error:
                blocked = error
        _push(key)  # POST_TOOL_CALL runs even for a blocked tool: it pops this
        if blocked is not None:
            raise GenOpsBlocked(blocked) from None

    def _tool_end(self, ctx: Any) -> None:
        with kit.guard("crewai tool end"):
            key = _pop("tool")
            node = self.tree.get(key)
            if key is None or node is None:
                return
            self._flush()
            for agent in node.data.get("agents", ()):
                self._end_agent(agent)
            self.tree.end(key, node.data.get("error"))

    def _tool_error(self, source: Any, event: ToolUsageErrorEvent) -> None:
        key = _innermost(self.tree)
        node = self.tree.get(key)
        if node is not None and isinstance(key, tuple) and key[0] == "tool":
            node.data["error"] = ToolFailed(str(event.error))
