"""Adapters for the Anthropic SDK: ``messages.create`` (incl. ``stream=True``) and
``messages.stream(...)``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

from genops import Usage
from genops import attributes as A
from genops.adapter import AsyncStreamProxy, StreamFinalizer, SyncStreamProxy
from genops_native._call import ORIGINAL, Call, begin
from genops_native._endpoint import (
    Endpoint,
    Options,
    Outcome,
    Redact,
    RequestInfo,
    anthropic_tools_overhead,
    content_texts,
    estimate_tokens,
    field_of,
    input_bound,
    int_or_none,
    message_texts,
    redact_content,
    redact_messages,
)

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def _messages_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    messages = kwargs.get("messages")
    texts = content_texts(kwargs.get("system")) + message_texts(messages)
    model = kwargs.get("model")
    return RequestInfo(
        model=model if isinstance(model, str) else None,
        max_output_tokens=int_or_none(kwargs.get("max_tokens")),
        texts=tuple(texts),
        stream=kwargs.get("stream") is True,
        input_messages=messages if isinstance(messages, list | tuple) else None,
        input_bound=input_bound(
            kwargs,
            ("system", "messages", "tools", "tool_choice", "thinking"),
            anthropic_tools_overhead(kwargs.get("tools")),
        ),
    )


def _stream_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    return dataclasses.replace(_messages_request(kwargs), stream=True)


def _messages_prepare(
    kwargs: dict[str, Any], redact: Redact | None, options: Options
) -> dict[str, Any]:
    if redact is None:
        return kwargs
    if "messages" in kwargs:
        kwargs["messages"] = redact_messages(kwargs["messages"], redact)
    if "system" in kwargs and isinstance(kwargs["system"], str | list | tuple):
        kwargs["system"] = redact_content(kwargs["system"], redact)
    return kwargs


def _output(content: Any) -> list[dict[str, Any]] | None:
    texts = [t for block in content or () if isinstance(t := field_of(block, "text"), str)]
    return [{"role": "assistant", "content": "".join(texts)}] if texts else None


def _messages_response(message: Any) -> Outcome:
    reason = field_of(message, "stop_reason")
    return Outcome(
        usage=Usage.from_provider(field_of(message, "usage")),
        model=field_of(message, "model"),
        response_id=field_of(message, "id"),
        finish_reasons=[reason] if reason else [],
        output_messages=_output(field_of(message, "content")),
    )


class MessagesStreamState:
    """Anthropic stream events: ``message_start`` carries input (and cache) tokens,
    ``message_delta`` the final cumulative output tokens. A stream closed before its
    ``message_delta`` keeps ``message_start``'s input tokens and counts the output seen so
    far (the larger of the provider's running count and the text received), estimated."""

    __slots__ = ("_complete", "_id", "_model", "_reason", "_text", "_usage")

    def __init__(self) -> None:
        self._usage: dict[str, Any] = {}
        self._model: str | None = None
        self._id: str | None = None
        self._reason: str | None = None
        self._complete = False
        self._text: list[str] = []

    def _merge(self, usage: Any) -> None:
        for name in _USAGE_FIELDS:
            value = field_of(usage, name)
            if value is not None:
                self._usage[name] = value

    def record(self, event: Any) -> None:
        kind = field_of(event, "type")
        if kind == "message_start":
            message = field_of(event, "message")
            self._model = field_of(message, "model")
            self._id = field_of(message, "id")
            self._merge(field_of(message, "usage"))
        elif kind == "content_block_delta":
            text = field_of(field_of(event, "delta"), "text")
            if isinstance(text, str):
                self._text.append(text)
        elif kind == "message_delta":
            self._reason = field_of(field_of(event, "delta"), "stop_reason") or self._reason
            usage = field_of(event, "usage")
            if usage is not None:
                self._merge(usage)
                self._complete = True

    def outcome(self) -> Outcome:
        usage = dict(self._usage)
        estimated = bool(usage) and not self._complete
        if estimated:
            seen = estimate_tokens(self._text)
            usage["output_tokens"] = max(int_or_none(usage.get("output_tokens")) or 0, seen)
        return Outcome(
            usage=Usage.from_provider(usage) if usage else None,
            estimated=estimated,
            model=self._model,
            response_id=self._id,
            finish_reasons=[self._reason] if self._reason else [],
            output_messages=[{"role": "assistant", "content": "".join(self._text)}]
            if self._text
            else None,
        )


MESSAGES = Endpoint(
    name="anthropic.messages",
    gen_ai_operation=A.OP_CHAT,
    operation_type="inference",
    read_request=_messages_request,
    read_response=_messages_response,
    new_stream_state=MessagesStreamState,
    prepare=_messages_prepare,
)
#: ``messages.stream(...)``: always a stream.
MESSAGES_STREAM = MESSAGES._replace(read_request=_stream_request)


def _govern_message_stream(stream: Any, finalizer: StreamFinalizer, proxy: type[Any]) -> Any:
    """Route the ``MessageStream``'s raw events through our proxy.

    Every way of consuming a ``MessageStream`` (iteration, ``text_stream``,
    ``get_final_message()``, ``until_done()``, ``close()``) reads ``_raw_stream``, so
    the user keeps the SDK's own ``MessageStream`` object. Should a future SDK drop
    that attribute, the ``MessageStream`` itself is proxied instead.
    """
    raw = getattr(stream, "_raw_stream", None)
    if raw is not None:
        stream._raw_stream = proxy(raw, finalizer)
        return stream
    return proxy(stream, finalizer)


class MessageStreamManager:
    """Stands in for the SDK's ``MessageStreamManager``: governance starts at ``__enter__``,
    where the SDK sends the request (a BLOCKED policy raises there, nothing is sent)."""

    def __init__(
        self,
        original: Callable[..., Any],
        resource: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: Options,
        default_provider: str,
    ) -> None:
        self._original = original
        self._resource = resource
        self._args = args
        self._kwargs = kwargs
        self._options = options
        self._default = default_provider
        self._manager: Any = None
        self._finalizer: StreamFinalizer | None = None

    def _open(self) -> tuple[Call | None, dict[str, Any]]:
        started = begin(MESSAGES_STREAM, self._resource, self._kwargs, self._options, self._default)
        if started is None:
            return None, self._kwargs
        return started

    def _governed(self, call: Call, stream: Any, proxy: type[Any]) -> Any:
        self._finalizer = call.finalizer(MessagesStreamState())
        return _govern_message_stream(stream, self._finalizer, proxy)

    def _finish(self) -> None:
        if self._finalizer is not None:
            self._finalizer.finish(None)

    def __enter__(self) -> Any:
        call, kwargs = self._open()
        if call is None:
            self._manager = self._original(self._resource, *self._args, **kwargs)
            return self._manager.__enter__()
        try:
            with call.activated():
                self._manager = self._original(self._resource, *self._args, **kwargs)
                stream = self._manager.__enter__()
        except BaseException as exc:
            call.fail(exc)
            raise
        return self._governed(call, stream, SyncStreamProxy)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self._manager.__exit__(*exc_info) if self._manager is not None else None
        finally:
            self._finish()


class AsyncMessageStreamManager(MessageStreamManager):
    """The ``async with client.messages.stream(...)`` twin."""

    def __enter__(self) -> Any:
        raise TypeError("an async client's messages.stream(...) needs 'async with'")

    def __exit__(self, *exc_info: Any) -> Any:
        return None

    async def __aenter__(self) -> Any:
        call, kwargs = self._open()
        if call is None:
            self._manager = self._original(self._resource, *self._args, **kwargs)
            return await self._manager.__aenter__()
        try:
            with call.activated():
                self._manager = self._original(self._resource, *self._args, **kwargs)
                stream = await self._manager.__aenter__()
        except BaseException as exc:
            call.fail(exc)
            raise
        return self._governed(call, stream, AsyncStreamProxy)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            if self._manager is not None:
                return await self._manager.__aexit__(*exc_info)
            return None
        finally:
            self._finish()


def wrap_stream_method(
    original: Callable[..., Any],
    endpoint: Endpoint,
    options: Options,
    default_provider: str,
    *,
    is_async: bool,
) -> Callable[..., Any]:
    """Replacement for ``Messages.stream`` / ``AsyncMessages.stream``."""
    manager = AsyncMessageStreamManager if is_async else MessageStreamManager

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return manager(original, self, args, kwargs, options, default_provider)

    setattr(wrapper, ORIGINAL, original)
    return wrapper
