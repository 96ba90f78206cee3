"""``GenOpsGuard``: policy for the next generator call, as a pipeline component."""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict, tracing
from haystack.core.errors import PipelineRuntimeError
from haystack.dataclasses import ChatMessage

import genops
from genops.adapter import redact_payload
from genops_haystack import _components as C


class GuardBlockedError(genops.PolicyViolationError, PipelineRuntimeError):
    """A ``genops.PolicyViolationError`` that is a ``PipelineRuntimeError`` too: unwrapped."""

    __module__ = "genops_haystack"

    def __init__(self, check: genops.PolicyCheck, name: str | None, cls: type) -> None:
        self.decision, self.operation_name = check.decision, check.request.operation_name
        PipelineRuntimeError.__init__(self, name, cls, str(check.error()))


_PARAMS = ("model", "provider", "max_output_tokens", "policies", "operation_name")


@component
class GenOpsGuard:
    """Checks the upcoming generator call with :func:`genops.check_policy` and passes the
    (possibly redacted) ``messages`` / ``prompt`` on, or raises
    :class:`genops.PolicyViolationError` so nothing reaches the provider::

        p.add_component("guard", GenOpsGuard(model="gpt-4o-mini", max_output_tokens=400))
        p.add_component("llm", OpenAIChatGenerator(model="gpt-4o-mini"))
        p.connect("prompt.prompt", "guard.messages")
        p.connect("guard.messages", "llm.messages")

    ``model`` / ``provider`` / ``max_output_tokens`` describe the call that follows
    (they price the estimate); ``policies`` limits the check to the named policies.
    Nothing is reserved: the generator's own governed unit reserves the budget.
    """

    __module__ = "genops_haystack"  # its type in YAML pipelines: genops_haystack.GenOpsGuard

    def __init__(
        self,
        model: str | None = None,
        provider: str | None = None,
        max_output_tokens: int | None = None,
        policies: list[str] | None = None,
        operation_name: str = "haystack.guard",
    ) -> None:
        genops.RequestEstimate(max_output_tokens=max_output_tokens)  # ValueError now, not at run
        self.model = model
        self.provider = provider
        self.max_output_tokens = max_output_tokens
        self.policies = list(policies) if policies else None
        self.operation_name = operation_name

    @component.output_types(messages=list[ChatMessage], prompt=str)
    def run(
        self, messages: list[ChatMessage] | None = None, prompt: str | None = None
    ) -> dict[str, Any]:
        """Raises :class:`genops.PolicyViolationError` when the call may not run."""
        contents = [C.content_of(m) for m in messages or ()]
        check = genops.check_policy(
            self.operation_name,
            provider=self.provider,
            model=self.model,
            request=genops.RequestEstimate(
                max_output_tokens=self.max_output_tokens,
                texts=C.texts({"prompt": prompt, "messages": messages}),
            ),
            policies=frozenset(self.policies) if self.policies else None,
        )
        span = tracing.tracer.current_span()
        for key, value in {**check.attributes(), "genops.guard.redacted": check.redacted}.items():
            if span is not None:
                span.set_tag(key, value)
        if not check.proceeds:
            raise GuardBlockedError(check, getattr(self, "__component_name__", None), type(self))
        out: dict[str, Any] = {} if prompt is None else {"prompt": check.texts[0]}
        if messages is not None:
            redact = check.redact if check.redacted else None
            out["messages"] = [
                m
                if redact is None
                else ChatMessage.from_dict({**m.to_dict(), "content": redact_payload(c, redact)})
                for m, c in zip(messages, contents, strict=True)
            ]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialise (YAML pipelines)."""
        return default_to_dict(self, **{k: getattr(self, k) for k in _PARAMS})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenOpsGuard:
        """Deserialise (YAML pipelines)."""
        return default_from_dict(cls, data)
