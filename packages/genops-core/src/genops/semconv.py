"""Which semantic-convention names genops emits, and how message content is captured.

Default: the GenAI names of semantic conventions v1.41 — what today's official Python
OpenTelemetry packages emit. With ``OTEL_SEMCONV_STABILITY_OPT_IN`` containing
``gen_ai_latest_experimental`` (comma-separated, as OpenTelemetry reads it), genops
emits the newest names of ``open-telemetry/semantic-conventions-genai`` instead:

- span ``gen_ai.usage.cache_creation.input_tokens`` → ``gen_ai.usage.cache_write.input_tokens``;
- ``gen_ai.client.operation.duration`` → ``gen_ai.client.inference.duration`` for inference
  operations (chat, text_completion, generate_content; embeddings stay on the old name);
- ``gen_ai.client.operation.time_to_first_chunk`` → ``gen_ai.client.inference.time_to_first_chunk``;
- ``gen_ai.client.token.usage`` (histogram by ``gen_ai.token.type``) → the counters
  ``gen_ai.client.inference.usage.{input,output,cache_read.input,cache_write.input,
  reasoning.output}_tokens`` (with ``gen_ai.token.modality="unknown"``: providers report no
  breakdown) and the histograms ``gen_ai.client.inference.operation.{input,output}_tokens``;
- new: ``gen_ai.invoke_agent.duration``, ``gen_ai.execute_tool.duration``,
  ``gen_ai.invoke_workflow.duration`` for agent / tool / workflow units and run-tree steps
  (the LangChain agent, tool and workflow runs).

Checked against the semantic-conventions-genai model (``model/gen-ai/*.yaml``) and its
migration guide from v1.41 (PRs #374, #440, #521, #201, #322, #126).

Cost stays ``genops.cost.*`` in both modes: the GenAI conventions define no cost
attribute or metric yet.

Content capture (``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` or
``init(capture_content=...)``) accepts ``true`` / ``false`` and the
``opentelemetry-util-genai`` modes ``NO_CONTENT``, ``SPAN_ONLY``, ``EVENT_ONLY``,
``SPAN_AND_EVENT``::

    genops.init(capture_content="SPAN_AND_EVENT")
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from genops import attributes as A

#: The ``OTEL_SEMCONV_STABILITY_OPT_IN`` token that switches to the newest GenAI names.
LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"


def latest_experimental(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental``."""
    raw = (environ if environ is not None else os.environ).get(A.ENV_SEMCONV_OPT_IN, "")
    return LATEST_EXPERIMENTAL in {token.strip().lower() for token in raw.split(",")}


class ContentCapture(enum.Enum):
    """Where prompts and responses are recorded (all off by default).

    - ``SPAN_ONLY``: ``gen_ai.input.messages`` / ``gen_ai.output.messages`` span attributes;
    - ``EVENT_ONLY``: the same attributes on a ``gen_ai.client.inference.operation.details``
      span event instead (backends that drop large attributes keep events apart);
    - ``SPAN_AND_EVENT``: both.
    """

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)

    @classmethod
    def parse(cls, value: bool | str | ContentCapture | None) -> ContentCapture:
        """``True``/``"true"`` → ``SPAN_ONLY``; ``False``/``None``/``""``/``"false"`` →
        ``NO_CONTENT``; a mode name (any case) → that mode. Anything else raises ``ValueError``."""
        if isinstance(value, ContentCapture):
            return value
        if value is None or value is False:
            return cls.NO_CONTENT
        if value is True:
            return cls.SPAN_ONLY
        if not isinstance(value, str):
            raise TypeError(f"capture_content must be a bool, a str or None, got {value!r}")
        text = value.strip()
        lowered = text.lower()
        if lowered in _TRUE:
            return cls.SPAN_ONLY
        if lowered in _FALSE:
            return cls.NO_CONTENT
        try:
            return cls(text.upper())
        except ValueError:
            allowed = ", ".join(["true", "false", *(m.value for m in cls)])
            raise ValueError(f"capture_content: unknown value {value!r} ({allowed})") from None


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

#: The span event that carries message content in EVENT_ONLY / SPAN_AND_EVENT modes.
EVENT_OPERATION_DETAILS = "gen_ai.client.inference.operation.details"


def cache_write_attribute(latest: bool) -> str:
    """The span attribute for tokens written to a provider cache."""
    return (
        A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS
        if latest
        else A.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS
    )
