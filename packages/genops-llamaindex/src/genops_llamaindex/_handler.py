"""LlamaIndex span and event handlers: dispatcher spans → the adapter kit's run tree.

Spans are keyed by LlamaIndex's own span ids (``OpenAI.chat-<uuid>``) and parented by
the dispatcher's ``parent_id`` (a tree's first span goes under the current OpenTelemetry
span). LLM and embedding call spans are governed units; usage comes with ``LLM*EndEvent``.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from llama_index.core.agent.workflow import BaseWorkflowAgent
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.response.schema import AsyncStreamingResponse, StreamingResponse
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.exception import ExceptionEvent
from llama_index.core.instrumentation.events.llm import (
    LLMChatEndEvent,
    LLMChatInProgressEvent,
    LLMCompletionEndEvent,
    LLMCompletionInProgressEvent,
)
from llama_index.core.instrumentation.span import SimpleSpan, active_span_id
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.core.tools.types import BaseTool
from llama_index.core.workflow import Workflow
from pydantic import PrivateAttr

from genops import GenOps, PolicyViolationError, RequestEstimate
from genops import adapter as kit
from genops import attributes as A
from genops_llamaindex import _extract as X

#: LLM methods that are one model call (their own span ids are the unit's run ids).
LLM_CALLS = {
    f"{a}{kind}{m}": op
    for a in ("", "a")
    for kind in ("", "stream_")
    for m, op in (("chat", A.OP_CHAT), ("complete", A.OP_TEXT_COMPLETION))
}
#: Embedding methods that are one embedding request (a batch may send several).
EMBEDDING_CALLS = frozenset(
    f"{a}get_{kind}_embedding{b}"
    for a in ("", "a")
    for kind, b in (("query", ""), ("text", ""), ("text", "_batch"))
)


def _is_call(instance: Any, name: str) -> bool:
    if isinstance(instance, BaseLLM):
        return name in LLM_CALLS
    return isinstance(instance, BaseEmbedding) and name in EMBEDDING_CALLS


def _named(op: str, name: str, attrs: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    return f"{op} {name}", op, attrs


class GenOpsInstrumentation:
    """One run tree shared by a span handler and an event handler (see module doc)."""

    def __init__(
        self, runtime: GenOps | None = None, *, max_open_runs: int = kit.DEFAULT_MAX_OPEN_RUNS
    ) -> None:
        self.tree = kit.RunTree(runtime, max_open_runs=max_open_runs)
        #: True while :func:`genops_llamaindex.enable`'s gate lets blocks reach the caller.
        self.gated = False
        self.span_handler = GenOpsSpanHandler(self)
        self.event_handler = GenOpsEventHandler(self)

    # ------------------------------------------------------------------ span enter
    def enter(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any,
        parent_id: str | None,
        tags: dict[str, Any] | None,
    ) -> None:
        """Start run ``id_``. Raises PolicyViolationError for a blocked LLM/embedding call."""
        tree, name = self.tree, X.method(id_)
        parent = tree.get(parent_id)
        if parent is not None and (
            parent.is_call
            or parent.data.get("in_call")
            or (instance is not None and parent.data.get("instance") is instance)
        ):
            self._fold(id_, parent_id, parent)  # under a call, or the same object's inner method
            return
        if _is_call(instance, name):
            self._start_call(id_, parent_id, instance, name, bound_args, tags)
            return
        if isinstance(instance, BaseLLM | BaseEmbedding):  # predict(), stream(), helpers
            if parent is not None:
                self._fold(id_, parent_id, parent)
            return
        label, operation, attrs = self._step(id_, instance, name)
        node = tree.start_step(
            id_,
            parent_id,
            label,
            operation=operation,
            attributes=attrs,
            attribution=X.attribution(tags),
            agent=attrs.get(A.GEN_AI_AGENT_NAME),
        )
        node.data.update(id=id_, instance=instance)

    def _fold(self, id_: str, parent_id: str | None, parent: kit.Node) -> None:
        if self.tree.passthrough(id_, parent_id) and (node := self.tree.get(id_)) is not None:
            node.data.update(
                instance=parent.data.get("instance"),
                in_call=parent.is_call or bool(parent.data.get("in_call")),
            )

    def _step(self, id_: str, instance: Any, name: str) -> tuple[str, str | None, dict[str, Any]]:
        if isinstance(instance, BaseTool) and name in ("call", "acall", "__call__"):
            tool = instance.metadata.name or type(instance).__name__
            attrs = {A.GEN_AI_TOOL_NAME: tool, A.GEN_AI_TOOL_TYPE: "function"}
            return _named(A.OP_EXECUTE_TOOL, tool, attrs)
        cls = type(instance).__name__
        if name in ("retrieve", "aretrieve") and isinstance(instance, BaseRetriever):
            return _named(A.OP_RETRIEVAL, cls, {A.GEN_AI_DATA_SOURCE_ID: cls})
        if name == "run" and isinstance(instance, Workflow):
            agent = getattr(instance, "name", None)
            if isinstance(instance, BaseWorkflowAgent) and isinstance(agent, str):
                return _named(A.OP_INVOKE_AGENT, agent, {A.GEN_AI_AGENT_NAME: agent})
            return _named(A.OP_INVOKE_WORKFLOW, cls, {A.GEN_AI_WORKFLOW_NAME: cls})
        return X.span_name(id_), None, {}

    def _start_call(
        self,
        id_: str,
        parent_id: str | None,
        instance: Any,
        name: str,
        bound_args: inspect.BoundArguments,
        tags: dict[str, Any] | None,
    ) -> None:
        embedding = isinstance(instance, BaseEmbedding)
        model = X.model(getattr(instance, "metadata", None) if not embedding else instance)
        operation = A.OP_EMBEDDINGS if embedding else LLM_CALLS[name]
        try:
            node = self.tree.start_call(
                id_,
                parent_id,
                operation_name=f"llamaindex.{type(instance).__name__}.{name}",
                operation_type="embedding" if embedding else "inference",
                gen_ai_operation=operation,
                provider=X.provider(instance),
                model=model or type(instance).__name__,
                request=RequestEstimate(
                    max_output_tokens=0 if embedding else X.max_tokens(instance, bound_args),
                    texts=X.texts(bound_args),
                ),
                attribution=X.attribution(tags),
            )
        except PolicyViolationError:
            raise
        except Exception as exc:
            kit.report(exc, "llamaindex span enter")
            return
        node.data.update(id=id_, instance=instance)
        if node.unit is not None and self.tree.runtime.capture_content and not embedding:
            with kit.guard("llamaindex content"):
                node.unit.record_content(input_messages=X.messages(bound_args))

    # ------------------------------------------------------------------ span exit / drop
    def exit(self, id_: str, result: Any) -> None:
        node = self.tree.get(id_)
        if node is None:
            return
        if node.is_call and (inspect.isgenerator(result) or inspect.isasyncgen(result)):
            node.data["stream"] = True  # ends with the LLM*EndEvent / ExceptionEvent
            weakref.finalize(result, self.tree.end, id_)  # a stream never read
            return
        streaming = isinstance(result, StreamingResponse | AsyncStreamingResponse)
        if streaming and node.owned and self._defer(id_, result):
            return
        self.tree.end(id_)

    def _defer(self, id_: str, result: StreamingResponse | AsyncStreamingResponse) -> bool:
        """A step returning a streaming response ends when the stream does; the LLM
        call the stream makes is parented under it (innermost such step)."""
        gen = result.response_gen
        if isinstance(gen, _Stream):
            gen.runs.append(id_)
            return True
        if gen is None:
            return False
        result.response_gen = _Stream(gen, id_, self.tree)  # type: ignore[assignment]
        return True

    def drop(self, id_: str, err: BaseException | None) -> None:
        self.tree.end(id_, err if err is not None else RuntimeError("span dropped"))

    # ------------------------------------------------------------------ events
    def event(self, event: BaseEvent) -> None:
        node = self.tree.get(event.span_id)
        while node is not None and not node.owned:  # events of a folded inner method
            node = node.parent
        if node is None or not node.is_call:
            return
        run_id = node.data.get("id")
        if isinstance(event, LLMChatInProgressEvent | LLMCompletionInProgressEvent):
            self.tree.record_first_chunk(run_id)
        elif isinstance(event, LLMChatEndEvent | LLMCompletionEndEvent):
            if not node.data.get("recorded") and event.response is not None:
                node.data["recorded"] = True
                model, rid, finish = X.response_info(event.response)
                usage = X.usage(event.response)
                self.tree.record_response(
                    run_id, usage=usage, model=model, response_id=rid, finish_reasons=finish
                )
            if node.data.get("stream"):
                self.tree.end(run_id)
        elif isinstance(event, ExceptionEvent) and node.data.get("stream"):
            error = event.exception
            self.tree.end(run_id, None if isinstance(error, GeneratorExit) else error)


class _Stream:
    """A streaming response's token generator, read with the deferred step as the
    active LlamaIndex span; ends the deferred steps when it is done."""

    def __init__(self, gen: Any, run_id: str, tree: kit.RunTree) -> None:
        self._gen, self._tree, self.runs = gen, tree, [run_id]
        self._done = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    def __next__(self) -> Any:
        token = active_span_id.set(self.runs[0])
        try:
            return next(self._gen)
        except BaseException as exc:
            self._finish(exc)
            raise
        finally:
            active_span_id.reset(token)

    async def __anext__(self) -> Any:
        token = active_span_id.set(self.runs[0])
        try:
            return await self._gen.__anext__()
        except BaseException as exc:
            self._finish(exc)
            raise
        finally:
            active_span_id.reset(token)

    def _finish(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        ok = exc is None or isinstance(exc, StopIteration | StopAsyncIteration | GeneratorExit)
        for run_id in self.runs:
            self._tree.end(run_id, None if ok else exc)

    def __del__(self) -> None:
        self._finish(None)


_warned = False
UNGATED = (
    "genops-llamaindex: a policy blocked a call, but this span handler was added by hand "
    "and LlamaIndex's dispatcher swallows handler errors, so the call went ahead; use "
    "genops_llamaindex.enable() to enforce policy before the call"
)


class GenOpsSpanHandler(BaseSpanHandler[SimpleSpan]):
    """Dispatcher span handler feeding a :class:`GenOpsInstrumentation`.

    The dispatcher swallows every exception a span handler raises, so this handler
    alone cannot stop a call; :func:`genops_llamaindex.enable` also installs the gate
    that lets a BLOCKED decision reach the caller.
    """

    _inst: GenOpsInstrumentation = PrivateAttr()

    def __init__(self, inst: GenOpsInstrumentation) -> None:
        super().__init__()
        self._inst = inst

    def new_span(self, id_: str, *args: Any, **kw: Any) -> SimpleSpan | None:
        parent, tags = kw.get("parent_span_id"), kw.get("tags")
        try:
            self._inst.enter(id_, kw["bound_args"], kw.get("instance"), parent, tags)
        except PolicyViolationError:
            global _warned
            if not self._inst.gated and not _warned:
                _warned = True
                logging.getLogger("genops.llamaindex").warning(UNGATED)
            raise
        except Exception as exc:
            kit.report(exc, "llamaindex span enter")
        return SimpleSpan(id_=id_, parent_id=parent, tags=tags or {})

    def prepare_to_exit_span(
        self, id_: str, *args: Any, result: Any = None, **kwargs: Any
    ) -> SimpleSpan | None:
        with kit.guard("llamaindex span exit"):
            self._inst.exit(id_, result)
        return self.open_spans.get(id_)

    def prepare_to_drop_span(
        self, id_: str, *args: Any, err: BaseException | None = None, **kwargs: Any
    ) -> SimpleSpan | None:
        with kit.guard("llamaindex span drop"):
            self._inst.drop(id_, err)
        return self.open_spans.get(id_)


class GenOpsEventHandler(BaseEventHandler):
    """Dispatcher event handler: usage, response model and stream progress of calls."""

    _inst: GenOpsInstrumentation = PrivateAttr()

    def __init__(self, inst: GenOpsInstrumentation) -> None:
        super().__init__()
        self._inst = inst

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        with kit.guard("llamaindex event"):
            self._inst.event(event)
