"""Adapters for the OpenAI SDK: Chat Completions, Responses, Embeddings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genops import Usage
from genops import attributes as A
from genops_native._endpoint import (
    Endpoint,
    Options,
    Outcome,
    Redact,
    RequestInfo,
    field_of,
    given,
    input_bound,
    int_or_none,
    message_texts,
    redact_content,
    redact_messages,
)

# --- chat.completions ---------------------------------------------------------------------


#: Request fields that are prompt input (the bound counts them; the rest are settings).
_CHAT_INPUT = ("messages", "tools", "functions", "tool_choice", "response_format")
_RESPONSES_INPUT = ("instructions", "input", "tools", "tool_choice", "text")


def _chat_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    messages = kwargs.get("messages")
    max_tokens = kwargs.get("max_completion_tokens")
    if not given(max_tokens):
        max_tokens = kwargs.get("max_tokens")
    model = kwargs.get("model")
    return RequestInfo(
        model=model if isinstance(model, str) else None,
        max_output_tokens=int_or_none(max_tokens),
        texts=tuple(message_texts(messages)),
        stream=kwargs.get("stream") is True,
        input_messages=messages if isinstance(messages, list | tuple) else None,
        input_bound=input_bound(kwargs, _CHAT_INPUT),
    )


def _chat_prepare(
    kwargs: dict[str, Any], redact: Redact | None, options: Options
) -> dict[str, Any]:
    if redact is not None and "messages" in kwargs:
        kwargs["messages"] = redact_messages(kwargs["messages"], redact)
    if (
        options.include_usage
        and kwargs.get("stream") is True
        and not given(kwargs.get("stream_options"))
    ):
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _chat_output(choices: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for choice in choices or ():
        message = field_of(choice, "message")
        entry: dict[str, Any] = {"role": field_of(message, "role") or "assistant"}
        content = field_of(message, "content")
        if content is not None:
            entry["content"] = content
        calls = field_of(message, "tool_calls")
        if calls:
            entry["tool_calls"] = [
                {"id": field_of(c, "id"), "name": field_of(field_of(c, "function"), "name")}
                for c in calls
            ]
        out.append(entry)
    return out


def _chat_response(response: Any) -> Outcome:
    choices = field_of(response, "choices") or ()
    return Outcome(
        usage=Usage.from_provider(field_of(response, "usage")),
        model=field_of(response, "model"),
        response_id=field_of(response, "id"),
        finish_reasons=[r for c in choices if (r := field_of(c, "finish_reason"))],
        output_messages=_chat_output(choices),
    )


class ChatStreamState:
    """Chat Completions chunks: usage arrives on the final chunk (``include_usage``)."""

    __slots__ = ("_finish", "_id", "_model", "_text", "_usage")

    def __init__(self) -> None:
        self._model: str | None = None
        self._id: str | None = None
        self._usage: Usage | None = None
        self._finish: dict[int, str] = {}
        self._text: dict[int, list[str]] = {}

    def record(self, chunk: Any) -> None:
        if self._model is None:
            self._model = field_of(chunk, "model") or None
            self._id = field_of(chunk, "id") or None
        for choice in field_of(chunk, "choices") or ():
            index = field_of(choice, "index") or 0
            delta = field_of(choice, "delta")
            text = field_of(delta, "content")
            if isinstance(text, str) and text:
                self._text.setdefault(index, []).append(text)
            reason = field_of(choice, "finish_reason")
            if reason:
                self._finish[index] = reason
        usage = field_of(chunk, "usage")
        if usage is not None:
            self._usage = Usage.from_provider(usage)

    def outcome(self) -> Outcome:
        return Outcome(
            usage=self._usage,
            model=self._model,
            response_id=self._id,
            finish_reasons=[self._finish[i] for i in sorted(self._finish)],
            output_messages=[
                {"role": "assistant", "content": "".join(self._text[i])} for i in sorted(self._text)
            ]
            or None,
        )


CHAT = Endpoint(
    name="openai.chat.completions",
    gen_ai_operation=A.OP_CHAT,
    operation_type="inference",
    read_request=_chat_request,
    read_response=_chat_response,
    new_stream_state=ChatStreamState,
    prepare=_chat_prepare,
)

# --- responses ------------------------------------------------------------------------------


def _responses_texts(kwargs: Mapping[str, Any]) -> list[str]:
    texts: list[str] = []
    instructions = kwargs.get("instructions")
    if isinstance(instructions, str):
        texts.append(instructions)
    data = kwargs.get("input")
    if isinstance(data, str):
        texts.append(data)
    elif isinstance(data, list | tuple):
        texts.extend(message_texts(data))  # every item type: messages, tool calls, outputs
    return texts


def _responses_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    model = kwargs.get("model")
    data = kwargs.get("input")
    return RequestInfo(
        model=model if isinstance(model, str) else None,
        max_output_tokens=int_or_none(kwargs.get("max_output_tokens")),
        texts=tuple(_responses_texts(kwargs)),
        stream=kwargs.get("stream") is True,
        input_messages=data if isinstance(data, str | list | tuple) else None,
        input_bound=input_bound(kwargs, _RESPONSES_INPUT),
    )


def _responses_prepare(
    kwargs: dict[str, Any], redact: Redact | None, options: Options
) -> dict[str, Any]:
    if redact is None:
        return kwargs
    data = kwargs.get("input")
    if isinstance(data, str):
        kwargs["input"] = redact(data)
    elif isinstance(data, list | tuple):
        kwargs["input"] = redact_messages(data, redact)
    if isinstance(kwargs.get("instructions"), str):
        kwargs["instructions"] = redact_content(kwargs["instructions"], redact)
    return kwargs


def _responses_response(response: Any) -> Outcome:
    status = field_of(response, "status")
    reason = field_of(field_of(response, "incomplete_details"), "reason")
    text = getattr(response, "output_text", None)
    return Outcome(
        usage=Usage.from_provider(field_of(response, "usage")),
        model=field_of(response, "model"),
        response_id=field_of(response, "id"),
        finish_reasons=[reason or status] if (reason or status) else [],
        output_messages=[{"role": "assistant", "content": text}] if text else None,
    )


_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamState:
    """Responses API events: usage and the final response arrive in ``response.completed``."""

    __slots__ = ("_final", "_id", "_model")

    def __init__(self) -> None:
        self._model: str | None = None
        self._id: str | None = None
        self._final: Outcome | None = None

    def record(self, event: Any) -> None:
        kind = field_of(event, "type")
        response = field_of(event, "response")
        if response is None:
            return
        if self._model is None:
            self._model = field_of(response, "model")
            self._id = field_of(response, "id")
        if kind in _TERMINAL:
            self._final = _responses_response(response)

    def outcome(self) -> Outcome:
        if self._final is not None:
            return self._final
        return Outcome(model=self._model, response_id=self._id)


RESPONSES = Endpoint(
    name="openai.responses",
    gen_ai_operation=A.OP_CHAT,
    operation_type="inference",
    read_request=_responses_request,
    read_response=_responses_response,
    new_stream_state=ResponsesStreamState,
    prepare=_responses_prepare,
)

# --- embeddings -----------------------------------------------------------------------------


def _embeddings_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    data = kwargs.get("input")
    if isinstance(data, str):
        texts: tuple[str, ...] = (data,)
    elif isinstance(data, list | tuple):
        texts = tuple(x for x in data if isinstance(x, str))
    else:
        texts = ()
    model = kwargs.get("model")
    return RequestInfo(
        model=model if isinstance(model, str) else None,
        max_output_tokens=0,
        texts=texts,
        stream=False,
        input_bound=input_bound(kwargs, ("input",)),
    )


def _embeddings_prepare(
    kwargs: dict[str, Any], redact: Redact | None, options: Options
) -> dict[str, Any]:
    if redact is not None:
        data = kwargs.get("input")
        if isinstance(data, str):
            kwargs["input"] = redact(data)
        elif isinstance(data, list | tuple) and all(isinstance(x, str) for x in data):
            kwargs["input"] = [redact(x) for x in data]
    return kwargs


def _embeddings_response(response: Any) -> Outcome:
    return Outcome(
        usage=Usage.from_provider(field_of(response, "usage")),
        model=field_of(response, "model"),
    )


EMBEDDINGS = Endpoint(
    name="openai.embeddings",
    gen_ai_operation=A.OP_EMBEDDINGS,
    operation_type="embedding",
    read_request=_embeddings_request,
    read_response=_embeddings_response,
    new_stream_state=None,
    prepare=_embeddings_prepare,
)
