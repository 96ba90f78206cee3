"""The LangChain callback handler: runs → governed units and nested OpenTelemetry spans.

::

    from genops_langchain import GenOpsCallbackHandler

    handler = GenOpsCallbackHandler()
    answer = rag_chain.invoke(question, config={"callbacks": [handler]})

Span tree from LangChain's own ids: a locked ``run_id → entry`` map, the parent
from ``parent_run_id``, and the first run of a tree placed under whatever
OpenTelemetry span is current when it starts. The handler never attaches or
detaches OpenTelemetry context (a callback cannot guarantee a matching detach).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from genops import (
    GenOps,
    GovernedUnit,
    PolicyViolationError,
    RequestEstimate,
    Rollup,
    _safety,
    covering_unit,
    resolve_attribution,
)
from genops import attributes as A
from genops.rollup import current_rollup
from genops.runtime import get_runtime
from genops_langchain import _covered
from genops_langchain import _extract as X
from genops_langchain._entry import Entry, RunEvicted
from genops_langchain._entry import end as end_entry

#: Default bound of the run map: open runs beyond it are evicted (oldest first).
DEFAULT_MAX_OPEN_RUNS = 10_000
#: Runs carrying this tag are folded into their parent (LangGraph's internal nodes).
HIDDEN_TAG = "langsmith:hidden"

#: Units opened by any GenOpsCallbackHandler: a covering unit among them is ours (e.g. a
#: stream still being consumed), not a user's unit that owns the cost of our runs.
_OWN_UNITS: weakref.WeakSet[GovernedUnit] = weakref.WeakSet()


class GenOpsCallbackHandler(BaseCallbackHandler):
    """Turns LangChain runs into governed, nested spans.

    - chat / LLM runs → governed units (``chat {model}``, CLIENT): attribution,
      policy before the request, reservation, usage → cost, reconciliation;
    - the root chain → ``invoke_workflow {name}``; inner chains → INTERNAL spans
      named after the runnable; chains marked ``metadata={"genops_agent": name}``
      (or reporting agent actions) → ``invoke_agent {name}``;
    - tools → ``execute_tool {name}``; retrievers → ``retrieval {name}``.

    Non-unit spans carry the ``genops.rollup.*`` totals of the units beneath them.

    ``raise_error`` is True so that a BLOCKED/RATE_LIMITED decision raised in
    ``on_chat_model_start`` / ``on_llm_start`` aborts the run before the model is
    called; every other internal error is reported through ``genops._safety`` and
    swallowed (never breaks the app). ``run_inline`` is True so, for async runs, the
    callbacks run in the caller's task and the cost owner they bind is visible to
    the provider SDK call the model makes next.

    ``max_open_runs`` bounds the run map; when it is full the oldest open run is
    ended with ``error.type`` :class:`RunEvicted`.
    """

    raise_error: bool = True
    run_inline: bool = True

    def __init__(
        self, runtime: GenOps | None = None, *, max_open_runs: int = DEFAULT_MAX_OPEN_RUNS
    ) -> None:
        if isinstance(max_open_runs, bool) or not isinstance(max_open_runs, int):
            raise TypeError("max_open_runs must be an int")
        if max_open_runs < 1:
            raise ValueError("max_open_runs must be >= 1")
        self._runtime = runtime
        self._max = max_open_runs
        self._runs: OrderedDict[UUID, Entry] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ map
    @property
    def open_runs(self) -> int:
        """Number of runs started and not yet ended."""
        return len(self._runs)

    def _rt(self) -> GenOps:
        return self._runtime if self._runtime is not None else get_runtime()

    def _parent(self, parent_run_id: UUID | None) -> Entry | None:
        if parent_run_id is None:
            return None
        return self._runs.get(parent_run_id)

    def _put(self, run_id: UUID, entry: Entry) -> None:
        evicted: list[Entry] = []
        with self._lock:
            self._runs[run_id] = entry
            while len(self._runs) > self._max:
                evicted.append(self._runs.popitem(last=False)[1])
        for old in evicted:
            end_entry(old, RunEvicted("run never reported an end (genops-langchain run map full)"))

    def _pop(self, run_id: UUID) -> Entry | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    # ------------------------------------------------------------------ non-unit spans
    def _start_span(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        name: str,
        attributes: dict[str, Any] | None,
        *,
        agent: str | None = None,
    ) -> Span:
        parent = self._parent(parent_run_id)
        rt = self._rt()
        if parent is not None:
            ctx = trace.set_span_in_context(parent.span)
            parent_rollup = parent.rollup
            if agent is None:
                agent = parent.agent  # runs inside an agent belong to it (metadata is inherited)
        else:
            ctx = otel_context.get_current()
            parent_rollup = current_rollup()
        span = rt.instruments.tracer.start_span(
            name, context=ctx, kind=SpanKind.INTERNAL, attributes=attributes
        )
        self._put(run_id, Entry(span, Rollup(span, parent=parent_rollup), agent=agent))
        return span

    def _hide(self, run_id: UUID, parent_run_id: UUID | None) -> bool:
        parent = self._parent(parent_run_id)
        if parent is None:
            return False
        self._put(run_id, Entry(parent.span, parent.rollup, agent=parent.agent, owned=False))
        return True

    def _end_run(self, run_id: UUID, error: BaseException | None) -> None:
        entry = self._pop(run_id)
        if entry is not None:
            end_entry(entry, error)

    # ------------------------------------------------------------------ chains and agents
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            if tags and HIDDEN_TAG in tags and self._hide(run_id, parent_run_id):
                return
            name = X.run_name(serialized, kwargs, "chain")
            parent = self._parent(parent_run_id)
            agent = X.agent_name(metadata, name)
            if agent is None and name == "AgentExecutor":
                agent = name
            if agent is not None and (parent is None or parent.agent != agent):
                attrs = {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT, A.GEN_AI_AGENT_NAME: agent}
                if parent is None:
                    attrs.update(self._root_attribution(metadata, tags))
                self._start_span(
                    run_id, parent_run_id, f"{A.OP_INVOKE_AGENT} {agent}", attrs, agent=agent
                )
            elif parent is None:
                attrs = {
                    A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_WORKFLOW,
                    A.GEN_AI_WORKFLOW_NAME: name,
                }
                attrs.update(self._root_attribution(metadata, tags))
                self._start_span(run_id, parent_run_id, f"{A.OP_INVOKE_WORKFLOW} {name}", attrs)
            else:
                self._start_span(run_id, parent_run_id, name, None)
        except Exception as exc:
            _safety.report(exc, "langchain on_chain_start")

    def _root_attribution(
        self, metadata: Mapping[str, Any] | None, tags: Sequence[str] | None
    ) -> dict[str, str]:
        """Attribution on the root span, so the whole tree can be filtered by team."""
        rt = self._rt()
        resolved = resolve_attribution(rt.defaults)
        run = X.attribution(metadata, tags)
        if run is not None:
            resolved = run.over(resolved)
        return resolved.span_attributes()

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, None)
        except Exception as exc:
            _safety.report(exc, "langchain on_chain_end")

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, error)
        except Exception as exc:
            _safety.report(exc, "langchain on_chain_error")

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain that reports agent actions is an agent: rename its span once."""
        try:
            entry = self._runs.get(run_id)
            if entry is None or entry.agent is not None or not entry.owned:
                return
            name = getattr(entry.span, "name", None) or "agent"
            if name.startswith(f"{A.OP_INVOKE_WORKFLOW} "):
                name = name[len(A.OP_INVOKE_WORKFLOW) + 1 :]
            entry.agent = name
            entry.span.update_name(f"{A.OP_INVOKE_AGENT} {name}")
            entry.span.set_attributes(
                {A.GEN_AI_OPERATION_NAME: A.OP_INVOKE_AGENT, A.GEN_AI_AGENT_NAME: name}
            )
        except Exception as exc:
            _safety.report(exc, "langchain on_agent_action")

    # ------------------------------------------------------------------ tools and retrievers
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            name = X.run_name(serialized, kwargs, "tool")
            attrs: dict[str, Any] = {
                A.GEN_AI_OPERATION_NAME: A.OP_EXECUTE_TOOL,
                A.GEN_AI_TOOL_NAME: name,
                A.GEN_AI_TOOL_TYPE: "function",
            }
            call_id = kwargs.get("tool_call_id")
            if isinstance(call_id, str) and call_id:
                attrs[A.GEN_AI_TOOL_CALL_ID] = call_id
            self._start_span(run_id, parent_run_id, f"{A.OP_EXECUTE_TOOL} {name}", attrs)
        except Exception as exc:
            _safety.report(exc, "langchain on_tool_start")

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            entry = self._pop(run_id)
            if entry is None:
                return
            # langchain-core < 1 does not pass tool_call_id to on_tool_start; the
            # ToolMessage a tool call returns carries it.
            call_id = getattr(output, "tool_call_id", None)
            if entry.owned and isinstance(call_id, str) and call_id:
                entry.span.set_attribute(A.GEN_AI_TOOL_CALL_ID, call_id)
            end_entry(entry, None)
        except Exception as exc:
            _safety.report(exc, "langchain on_tool_end")

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, error)
        except Exception as exc:
            _safety.report(exc, "langchain on_tool_error")

    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            name = X.run_name(serialized, kwargs, "retriever")
            attrs = {A.GEN_AI_OPERATION_NAME: A.OP_RETRIEVAL, A.GEN_AI_DATA_SOURCE_ID: name}
            self._start_span(run_id, parent_run_id, f"{A.OP_RETRIEVAL} {name}", attrs)
        except Exception as exc:
            _safety.report(exc, "langchain on_retriever_start")

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, None)
        except Exception as exc:
            _safety.report(exc, "langchain on_retriever_end")

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, error)
        except Exception as exc:
            _safety.report(exc, "langchain on_retriever_error")

    # ------------------------------------------------------------------ LLM and chat runs
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        flat = messages[0] if len(messages) == 1 else [m for ms in messages for m in ms]
        self._start_unit(
            "chat", serialized, flat, None, run_id, parent_run_id, tags, metadata, kwargs
        )

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._start_unit(
            "completion", serialized, (), prompts, run_id, parent_run_id, tags, metadata, kwargs
        )

    def _start_unit(
        self,
        operation_type: str,
        serialized: dict[str, Any] | None,
        messages: Sequence[Any],
        prompts: Sequence[str] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> None:
        try:
            rt = self._rt()
            params = kwargs.get("invocation_params")
            params = params if isinstance(params, Mapping) else None
            model = X.model(metadata, params) or "unknown"
            parent = self._parent(parent_run_id)
            outer = covering_unit()
            if outer is not None and outer not in _OWN_UNITS:
                span, covered = _covered.start(
                    rt.instruments.tracer,
                    outer,
                    A.OP_CHAT if operation_type == "chat" else A.OP_TEXT_COMPLETION,
                    X.provider(metadata),
                    model,
                    trace.set_span_in_context(parent.span)
                    if parent is not None
                    else otel_context.get_current(),
                )
                self._put(run_id, Entry(span, None, covered=covered))
                return
            texts = list(prompts) if prompts is not None else X.message_texts(messages)
            unit = GovernedUnit(
                rt,
                X.run_name(serialized, kwargs, operation_type),
                operation_type=operation_type,
                provider=X.provider(metadata),
                model=model,
                request=RequestEstimate(
                    max_output_tokens=X.max_tokens(metadata, params), texts=texts
                ),
                kind=SpanKind.CLIENT,
                parent=parent.span if parent is not None else otel_context.get_current(),
                rollup=parent.rollup if parent is not None else current_rollup(),
                attribution=X.attribution(metadata, tags),
            )
        except Exception as exc:
            _safety.report(exc, f"langchain on_{operation_type}_start")
            return
        try:
            unit.start()
        except PolicyViolationError:
            raise  # aborts the run before the model is called (raise_error=True)
        except Exception as exc:
            _safety.report(exc, f"langchain on_{operation_type}_start")
            return
        try:
            _OWN_UNITS.add(unit)
            unit.bind()  # the SDK layer underneath sees the unit: no second cost-bearing span
            if rt.capture_content:
                unit.record_content(
                    input_messages=X.input_messages(messages) if prompts is None else list(prompts)
                )
            self._put(run_id, Entry(unit.span, None, unit=unit))
        except Exception as exc:
            unit.finish(exc)
            _safety.report(exc, f"langchain on_{operation_type}_start")

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            entry = self._runs.get(run_id)
            if entry is None or entry.unit is None or entry.streamed:
                return
            entry.streamed = True
            entry.unit.record_first_chunk()
            entry.span.set_attribute(A.GEN_AI_REQUEST_STREAM, True)
        except Exception as exc:
            _safety.report(exc, "langchain on_llm_new_token")

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            entry = self._pop(run_id)
            if entry is None:
                return
            if entry.unit is None:
                if entry.covered is not None:
                    with _safety.guard("langchain covered usage"):
                        _covered.finish(entry.span, entry.covered, response)
                end_entry(entry, None)
                return
            unit = entry.unit
            with _safety.guard("langchain usage"):
                generation = X.first_generation(response)
                response_model, response_id, finish = X.response_info(response, generation)
                unit.set_response(
                    model=response_model, response_id=response_id, finish_reasons=finish
                )
                raw = X.usage(response, generation)
                if raw is not None:
                    unit.record_usage(raw=raw)
                if self._rt().capture_content:
                    unit.record_content(output_messages=X.output_messages(response))
            unit.finish(None)
        except Exception as exc:
            _safety.report(exc, "langchain on_llm_end")

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        try:
            self._end_run(run_id, error)
        except Exception as exc:
            _safety.report(exc, "langchain on_llm_error")
