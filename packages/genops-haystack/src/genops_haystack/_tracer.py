"""The Haystack tracer: every Haystack span mapped onto the adapter kit's RunTree.

``haystack.pipeline.run`` → ``invoke_workflow {name}`` (roll-up of everything below);
``haystack.component.run`` → one span per run (loops: per visit); generators and
embedders → governed units (policy before the call, usage from ``meta``, cost);
``Agent`` → ``invoke_agent``; retrievers → ``retrieval``; ``haystack.agent.step.llm``
→ a ``chat`` unit; ``haystack.agent.step.tool`` → ``execute_tool {name}``.

Each span is current in OpenTelemetry while open, so SDK instrumentation underneath
(genops-native) nests under it and, through the unit's claim, adds its provider call
to the unit instead of opening a second cost-bearing span.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from haystack import tracing
from haystack.core.errors import PipelineRuntimeError
from haystack.tracing import utils as tracing_utils
from opentelemetry import context as otel_context
from opentelemetry import trace

import genops
from genops import GenOps, PolicyViolationError, RequestEstimate
from genops import adapter as kit
from genops import attributes as A
from genops_haystack import _components as C

CONTENT_ENV = "HAYSTACK_CONTENT_TRACING_ENABLED"
_INPUT_TAGS = ("haystack.component.input", "haystack.agent.step.llm.input")
_OUTPUT_TAGS = ("haystack.component.output", "haystack.agent.step.llm.output")
_ids = itertools.count(1)
_current: contextvars.ContextVar[GenOpsSpan | None] = contextvars.ContextVar(
    "genops_haystack_span", default=None
)


class GenOpsSpan(tracing.Span):
    """One Haystack span; a governed call starts at its input tag (just before the run)."""

    def __init__(
        self, tracer: GenOpsTracer, parent: GenOpsSpan | None, call: dict[str, Any] | None
    ) -> None:
        self.run_id = next(_ids)
        self._tracer = tracer
        self.parent = parent
        self._call = call
        self._stack = contextlib.ExitStack()
        self._pending: dict[str, Any] = {}
        self.node: kit.Node | None = None
        self.is_agent = False

    # -- haystack.tracing.Span
    def set_tag(self, key: str, value: Any) -> None:
        with kit.guard("haystack set_tag"):
            if self.node is None:
                self._pending[key] = value
            elif self.node.owned:
                self.node.span.set_attribute(key, tracing_utils.coerce_tag_value(value))

    def set_content_tag(self, key: str, value: Any) -> None:
        if self._call is not None and key in _INPUT_TAGS and self.node is None:
            self._start_call(value if isinstance(value, Mapping) else None)
        elif self._call is not None and key in _OUTPUT_TAGS:
            with kit.guard("haystack output"):
                usage, model, finish = C.reported(value)
                self._tracer.tree.record_response(
                    self.run_id, usage=usage, model=model, finish_reasons=finish or None
                )
        if self._tracer.content_enabled:  # redacted as the unit's content policy says
            redact = self.node.unit.redact if self.node and self.node.unit else None
            text = tracing_utils.coerce_tag_value(value)
            self.set_tag(key, redact(text) if redact and isinstance(text, str) else text)

    def raw_span(self) -> Any:
        return self.node.span if self.node is not None else trace.INVALID_SPAN

    def get_correlation_data_for_logs(self) -> dict[str, Any]:
        ctx = self.node.span.get_span_context() if self.node is not None else None
        return {"trace_id": ctx.trace_id, "span_id": ctx.span_id} if ctx else {}

    # -- lifecycle
    def _parent_id(self) -> int | None:
        return self.parent.run_id if self.parent is not None else None

    def _activate(self, node: kit.Node) -> None:
        self.node = node
        if node.owned:
            token = otel_context.attach(trace.set_span_in_context(node.span))
            self._stack.callback(otel_context.detach, token)
        if node.claim is not None:
            self._stack.enter_context(node.claim.activated())
        pending, self._pending = self._pending, {}
        for key, value in pending.items():
            self.set_tag(key, value)

    def start_step(self, name: str, operation: str | None, attrs: dict[str, Any]) -> None:
        tree = self._tracer.tree
        with kit.guard("haystack span start"):
            tree.start_step(
                self.run_id, self._parent_id(), name, operation=operation, attributes=attrs
            )
            node = tree.get(self.run_id)
            if node is not None:
                self._activate(node)

    def passthrough(self) -> bool:
        if self._tracer.tree.passthrough(self.run_id, self._parent_id()):
            node = self._tracer.tree.get(self.run_id)
            if node is not None:
                self._activate(node)
            return True
        return False

    def _start_call(self, inputs: Mapping[str, Any] | None) -> None:
        call = self._call or {}
        instance = call.get("instance")
        type_name = call.get("type") or type(instance).__name__
        op, model = call["op"], C.model_of(instance)
        try:
            resolved = genops.resolve_provider(
                base_url=C.base_url(instance), hint=C.provider(type_name), model=model
            )
            node = self._tracer.tree.start_call(
                self.run_id,
                self._parent_id(),
                operation_name=call.get("name") or type_name,
                operation_type="embedding" if op == A.OP_EMBEDDINGS else "inference",
                gen_ai_operation=op,
                provider=resolved.name,
                model=model,
                request=RequestEstimate(
                    max_output_tokens=0
                    if op == A.OP_EMBEDDINGS
                    else C.max_tokens_of(instance, inputs),
                    texts=C.texts(inputs),
                ),
                attributes={
                    "haystack.component.type": type_name,
                    A.GEN_AI_REQUEST_STREAM: C.streams(instance, inputs),
                    **resolved.attributes(),
                },
                bind_claim=False,
            )
        except PolicyViolationError:
            raise  # before the component runs: nothing reaches the provider
        except Exception as exc:
            kit.report(exc, "haystack call start")
            return
        self._activate(node)

    def finish(self, error: BaseException | None) -> None:
        if self._call is not None and self.node is None and error is None:
            self._start_call(None)  # no input tag came (not Haystack's own caller)
        self._stack.close()
        if self.node is not None:
            if isinstance(error, PipelineRuntimeError) and error.__cause__ is not None:
                error = error.__cause__
            with kit.guard("haystack span end"):
                self._tracer.tree.end(self.run_id, error)


class GenOpsTracer(tracing.Tracer):
    """A ``haystack.tracing.Tracer`` that records governed OpenTelemetry spans.

    ``runtime`` defaults to the current :func:`genops.get_runtime` at each span;
    content tags only when :attr:`content_enabled`.
    """

    def __init__(self, runtime: GenOps | None = None) -> None:
        self.tree = kit.RunTree(runtime)
        #: The tracer this one replaced (restored by the enable() handle).
        self.replaced: tracing.Tracer | None = None

    @property
    def content_enabled(self) -> bool:
        """True when content tags are recorded: Haystack's switch (``HAYSTACK_CONTENT_
        TRACING_ENABLED`` at import, ``tracing.tracer.is_content_tracing_enabled``) or
        genops content capture."""
        return tracing.tracer.is_content_tracing_enabled or self.tree.runtime.capture_content

    @contextlib.contextmanager
    def trace(
        self,
        operation_name: str,
        tags: dict[str, Any] | None = None,
        parent_span: tracing.Span | None = None,
    ) -> Iterator[tracing.Span]:
        tags = tags or {}
        parent = parent_span if isinstance(parent_span, GenOpsSpan) else _current.get()
        span = GenOpsSpan(self, parent, None)
        with kit.guard("haystack trace"):
            span = self._open(operation_name, tags, parent)
        token = _current.set(span)
        error: BaseException | None = None
        try:
            yield span
        except BaseException as exc:
            error = exc
            raise
        finally:
            _current.reset(token)
            span.finish(error)

    def current_span(self) -> tracing.Span | None:
        return _current.get()

    def _open(
        self, operation_name: str, tags: dict[str, Any], parent: GenOpsSpan | None
    ) -> GenOpsSpan:
        type_name = str(tags.get("haystack.component.type") or "")
        name = str(tags.get("haystack.component.name") or operation_name)
        op = C.operation(type_name)
        if operation_name == "haystack.agent.step.llm":
            agent = C.calling_component(None)
            gen = getattr(agent, "chat_generator", agent)
            op, type_name, name = A.OP_CHAT, type(gen).__name__, "agent.llm"
            call: dict[str, Any] | None = {
                "op": op,
                "type": type_name,
                "name": name,
                "instance": gen,
            }
        elif op is not None and operation_name in (
            "haystack.component.run",
            "haystack.chat_generator.run",
        ):
            call = {
                "op": op,
                "type": type_name,
                "name": name,
                "instance": C.calling_component(type_name),
            }
        else:
            call = None
        span = GenOpsSpan(self, parent, call)
        if call is not None:
            span._pending.update(tags)
            return span
        attrs = {
            k: tracing_utils.coerce_tag_value(v)
            for k, v in tags.items()
            if k != "haystack.pipeline.input_data" or self.content_enabled
        }
        if operation_name == "haystack.pipeline.run":
            meta = tags.get("haystack.pipeline.metadata")
            wf = (
                str(meta.get("name"))
                if isinstance(meta, Mapping) and meta.get("name")
                else "haystack.pipeline"
            )
            attrs[A.GEN_AI_WORKFLOW_NAME] = wf
            span.start_step(f"{A.OP_INVOKE_WORKFLOW} {wf}", A.OP_INVOKE_WORKFLOW, attrs)
        elif (
            operation_name == "haystack.agent.run"
            and parent is not None
            and parent.is_agent
            and span.passthrough()
        ):
            span.is_agent = True  # the Agent component's own span already is the agent
        elif type_name == "Agent" or operation_name == "haystack.agent.run":
            agent_name = name if type_name == "Agent" else "agent"
            attrs[A.GEN_AI_AGENT_NAME] = agent_name
            span.start_step(f"{A.OP_INVOKE_AGENT} {agent_name}", A.OP_INVOKE_AGENT, attrs)
            span.is_agent = True
        elif operation_name == "haystack.agent.step.tool":
            tool = str(tags.get("haystack.tool.name") or "tool")
            attrs.update({A.GEN_AI_TOOL_NAME: tool, A.GEN_AI_TOOL_TYPE: "function"})
            span.start_step(f"{A.OP_EXECUTE_TOOL} {tool}", A.OP_EXECUTE_TOOL, attrs)
        elif type_name.endswith("Retriever"):
            attrs[A.GEN_AI_DATA_SOURCE_ID] = name
            span.start_step(f"{A.OP_RETRIEVAL} {name}", A.OP_RETRIEVAL, attrs)
        else:
            span.start_step(name, None, attrs)
        return span
