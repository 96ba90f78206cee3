"""The LangChain callback handler: runs → governed units and nested OpenTelemetry spans.

::

    from genops_langchain import GenOpsCallbackHandler

    handler = GenOpsCallbackHandler()
    answer = rag_chain.invoke(question, config={"callbacks": [handler]})

Every callback maps a LangChain event onto the adapter kit's :class:`~genops.adapter.RunTree`
(keyed by LangChain's ``run_id`` / ``parent_run_id``); the kit does the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from genops import GenOps, PolicyViolationError, RequestEstimate
from genops import adapter as kit
from genops import attributes as A
from genops_langchain import _extract as X

#: Runs carrying this tag are folded into their parent (LangGraph's internal nodes).
HIDDEN_TAG = "langsmith:hidden"
#: The classic LangChain agent runnable: its runs are an agent even without metadata.
AGENT_EXECUTOR = "AgentExecutor"
#: ``spans="essential"``: only these runs get spans; inner runnables are folded into them.
Spans = Literal["all", "essential"]


class _QuietPolicyBlocks(logging.Filter):
    """LangChain logs "Error in <handler>.<event> callback" before re-raising any handler
    error; a policy block is a decision, not an error: drop that one record."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        return not (
            isinstance(args, tuple)
            and len(args) == 3
            and args[0] == "GenOpsCallbackHandler"
            and "PolicyViolationError(" in str(args[2])
        )


logging.getLogger("langchain_core.callbacks.manager").addFilter(_QuietPolicyBlocks())


class GenOpsCallbackHandler(BaseCallbackHandler):
    """Turns LangChain runs into governed, nested spans.

    - chat / LLM runs → governed units (``chat {model}``, CLIENT): attribution,
      policy before the request, reservation, usage → cost, reconciliation;
    - the root chain → ``invoke_workflow {name}``; agents (``create_agent(...,
      name=...)``, ``metadata={"genops_agent": name}``, or chains reporting agent
      actions) → ``invoke_agent {name}``; other chains → INTERNAL spans named after
      the runnable (``spans="essential"`` folds those into their parent);
    - tools → ``execute_tool {name}``; retrievers → ``retrieval {name}``.

    ``raise_error`` is True so that a BLOCKED/RATE_LIMITED decision raised in
    ``on_chat_model_start`` / ``on_llm_start`` aborts the run before the model is
    called; every other internal error is reported by the kit and swallowed.
    ``run_inline`` is True so, for async runs, the callbacks run in the caller's task
    and the claim they bind is visible to the provider SDK call the model makes next.

    ``max_open_runs`` bounds the run map; when it is full the oldest open run is
    ended with ``error.type`` ``genops.adapter.RunEvicted``.
    """

    raise_error: bool = True
    run_inline: bool = True

    def __init__(
        self,
        runtime: GenOps | None = None,
        *,
        max_open_runs: int = kit.DEFAULT_MAX_OPEN_RUNS,
        spans: Spans = "all",
    ) -> None:
        if spans not in ("all", "essential"):
            raise ValueError(f"spans must be 'all' or 'essential', got {spans!r}")
        self._tree = kit.RunTree(runtime, max_open_runs=max_open_runs)
        self._essential = spans == "essential"

    @property
    def runtime(self) -> GenOps:
        """The runtime this handler reports to (the current one unless given)."""
        return self._tree.runtime

    @property
    def open_runs(self) -> int:
        """Number of runs started and not yet ended."""
        return len(self._tree)

    def _end(self, run_id: UUID, error: BaseException | None, where: str) -> None:
        with kit.guard(f"langchain {where}"):
            self._tree.end(run_id, error)

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
        with kit.guard("langchain on_chain_start"):
            tree = self._tree
            if tags and HIDDEN_TAG in tags and tree.passthrough(run_id, parent_run_id):
                return
            name = X.run_name(serialized, kwargs, "chain")
            parent = tree.get(parent_run_id)
            agent = X.agent_name(metadata, name) or (name if name == AGENT_EXECUTOR else None)
            attribution = X.attribution(metadata, tags) if parent is None else None
            if agent is not None and (parent is None or parent.agent != agent):
                attrs = {A.GEN_AI_AGENT_NAME: agent}
                tree.start_step(
                    run_id,
                    parent_run_id,
                    f"{A.OP_INVOKE_AGENT} {agent}",
                    operation=A.OP_INVOKE_AGENT,
                    attributes=attrs,
                    attribution=attribution,
                    agent=agent,
                )
            elif parent is None:
                tree.start_step(
                    run_id,
                    parent_run_id,
                    f"{A.OP_INVOKE_WORKFLOW} {name}",
                    operation=A.OP_INVOKE_WORKFLOW,
                    attributes={A.GEN_AI_WORKFLOW_NAME: name},
                    attribution=attribution,
                )
            elif not (self._essential and tree.passthrough(run_id, parent_run_id)):
                tree.start_step(run_id, parent_run_id, name)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, "on_chain_end")

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error, "on_chain_error")

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """A chain that reports agent actions is an agent: its span becomes one, once."""
        with kit.guard("langchain on_agent_action"):
            self._tree.promote_to_agent(run_id)

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
        with kit.guard("langchain on_tool_start"):
            # the allowed_tools policies first: a BLOCKED decision raises (raise_error)
            name = X.run_name(serialized, kwargs, "tool")
            call_id = kwargs.get("tool_call_id")
            attrs = {A.GEN_AI_TOOL_TYPE: "function"}
            if isinstance(call_id, str) and call_id:
                attrs[A.GEN_AI_TOOL_CALL_ID] = call_id
            attribution = X.attribution(metadata, tags)
            kit.start_tool(self._tree, run_id, parent_run_id, name, attributes=attrs,
                           attribution=attribution)  # fmt: skip

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with kit.guard("langchain on_tool_end"):
            # langchain-core < 1 does not pass tool_call_id to on_tool_start; the
            # ToolMessage a tool call returns carries it.
            node = self._tree.get(run_id)
            call_id = getattr(output, "tool_call_id", None)
            if node is not None and node.owned and isinstance(call_id, str) and call_id:
                node.span.set_attribute(A.GEN_AI_TOOL_CALL_ID, call_id)
            self._tree.end(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error, "on_tool_error")

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
        with kit.guard("langchain on_retriever_start"):
            name = X.run_name(serialized, kwargs, "retriever")
            self._tree.start_step(
                run_id,
                parent_run_id,
                f"{A.OP_RETRIEVAL} {name}",
                operation=A.OP_RETRIEVAL,
                attributes={A.GEN_AI_DATA_SOURCE_ID: name},
                attribution=X.attribution(metadata, tags),
            )

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, None, "on_retriever_end")

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error, "on_retriever_error")

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
        self._start_call(
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
        self._start_call(
            "completion", serialized, (), prompts, run_id, parent_run_id, tags, metadata, kwargs
        )

    def _start_call(
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
        where = f"langchain on_{operation_type}_start"
        try:
            params = kwargs.get("invocation_params")
            params = params if isinstance(params, Mapping) else None
            texts = list(prompts) if prompts is not None else X.message_texts(messages)
            model = X.model(metadata, params)
            resolved = self._tree.runtime.providers.resolve(
                base_url=X.base_url(serialized), hint=X.provider(metadata), model=model
            )
            node = self._tree.start_call(
                run_id,
                parent_run_id,
                operation_name=X.run_name(serialized, kwargs, operation_type),
                operation_type=operation_type,
                gen_ai_operation=A.OP_CHAT if operation_type == "chat" else A.OP_TEXT_COMPLETION,
                provider=resolved.name,
                model=model,
                request=RequestEstimate(
                    input_tokens=X.input_bound(messages, prompts, params),
                    max_output_tokens=X.max_tokens(metadata, params),
                    texts=texts,
                ),
                attribution=X.attribution(metadata, tags),
                attributes=resolved.attributes(),
            )
        except PolicyViolationError:
            raise  # aborts the run before the model is called (raise_error=True)
        except Exception as exc:
            kit.report(exc, where)
            return
        if node.unit is not None and self._tree.runtime.capture_content:
            with kit.guard(where):
                node.unit.record_content(
                    input_messages=X.input_messages(messages) if prompts is None else list(prompts)
                )

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with kit.guard("langchain on_llm_new_token"):
            self._tree.record_first_chunk(run_id)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with kit.guard("langchain on_llm_end"):
            tree = self._tree
            node = tree.get(run_id)
            if node is not None:
                with kit.guard("langchain usage"):
                    generation = X.first_generation(response)
                    model, response_id, finish = X.response_info(response, generation)
                    tree.record_response(
                        run_id,
                        usage=X.usage(response, generation),
                        model=model,
                        response_id=response_id,
                        finish_reasons=finish or None,
                    )
                    if node.unit is not None and tree.runtime.capture_content:
                        node.unit.record_content(output_messages=X.output_messages(response))
            tree.end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error, "on_llm_error")
