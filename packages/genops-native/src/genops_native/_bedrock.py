"""AWS Bedrock runtime through botocore's own event system (no method patching).

Per ``bedrock-runtime`` client, three handlers on ``client.meta.events``:

- ``before-parameter-build``: keeps the caller's parameters (model id, token cap);
- ``before-call``: the request is serialized and about to be sent — the unit starts
  here, so a BLOCKED decision raises :class:`genops.PolicyViolationError` and
  nothing is sent (the client's region goes to the ``allowed_regions`` policy);
- ``after-call`` / ``after-call-error``: usage from the parsed response (Converse
  ``usage``, InvokeModel's ``X-Amzn-Bedrock-*-Token-Count`` headers, which every
  model family's body gets), or a proxy around the response's event stream.

``genops.init()`` instruments every client created afterwards (``ClientCreator`` and
aiobotocore's ``AioClientCreator.create_client`` are wrapped); ``instrument_bedrock(client)``
one botocore or aiobotocore client (its event streams get the kit's async proxy).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.trace import SpanKind

import genops
from genops import Usage
from genops import adapter as kit
from genops import attributes as A
from genops.adapter import AsyncStreamProxy, SyncStreamProxy
from genops_native._call import Call
from genops_native._endpoint import (
    Endpoint,
    Outcome,
    RequestInfo,
    anthropic_tools_overhead,
    content_texts,
    field_of,
    input_bound,
    int_or_none,
    message_texts,
)

PROVIDER = "aws.bedrock"
SERVICE = "bedrock-runtime"
_KEY = "genops"
_CLOUD_REGION = "cloud.region"
#: The token cap of each InvokeModel body family (Anthropic, Mistral, Cohere, Meta, Nova, Titan).
_BODY_CAPS = ("max_tokens", "max_gen_len", "max_new_tokens", "maxTokens", "maxTokenCount")
_HEADER = "x-amzn-bedrock-{}-token-count"


def _inference_cap(config: Any) -> int | None:
    return int_or_none(field_of(config, "maxTokens"))


def _converse_request(params: Mapping[str, Any]) -> RequestInfo:
    messages = params.get("messages")
    texts = message_texts(messages)
    for block in params.get("system") or ():
        texts.extend(content_texts([block]))
    return RequestInfo(
        model=str(params.get("modelId") or "") or None,
        max_output_tokens=_inference_cap(params.get("inferenceConfig")),
        texts=tuple(texts),
        stream=False,
        input_messages=messages if isinstance(messages, list) else None,
        input_bound=input_bound(
            params,
            ("system", "messages", "toolConfig"),
            anthropic_tools_overhead(field_of(params.get("toolConfig"), "tools")),
        ),
    )


def _body_cap(body: Any) -> int | None:
    if not isinstance(body, Mapping):
        return None
    for name in _BODY_CAPS:
        value = int_or_none(body.get(name))
        if value is not None:
            return value
    for nested in ("inferenceConfig", "textGenerationConfig", "parameters"):
        value = _body_cap(body.get(nested))
        if value is not None:
            return value
    return None


def _invoke_request(params: Mapping[str, Any]) -> RequestInfo:
    raw = params.get("body")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    body: Any = None
    if isinstance(text, str):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    return RequestInfo(
        model=str(params.get("modelId") or "") or None,
        max_output_tokens=_body_cap(body),
        # The whole body is the estimate's text: every family spells its prompt differently.
        texts=(text,) if isinstance(text, str) else (),
        stream=False,
        input_bound=_invoke_bound(body, text),
    )


def _invoke_bound(body: Any, text: Any) -> int | None:
    """The whole model-specific body bounds the input (inline binary excluded)."""
    if isinstance(body, Mapping):
        return kit.input_token_bound(body, overhead=anthropic_tools_overhead(body.get("tools")))
    return kit.input_token_bound(text) if isinstance(text, str) else None


def _converse_response(parsed: Mapping[str, Any]) -> Outcome:
    reason = parsed.get("stopReason")
    message = field_of(parsed.get("output"), "message")
    texts = content_texts(field_of(message, "content"))
    return Outcome(
        usage=Usage.from_provider(parsed.get("usage")),
        finish_reasons=[reason] if isinstance(reason, str) else [],
        output_messages=[{"role": "assistant", "content": "".join(texts)}] if texts else None,
    )


def _header_int(headers: Mapping[str, Any], name: str) -> int | None:
    value = headers.get(_HEADER.format(name))
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _invoke_response(parsed: Mapping[str, Any]) -> Outcome:
    headers = field_of(parsed.get("ResponseMetadata"), "HTTPHeaders") or {}
    tokens = {n: _header_int(headers, n) for n in ("input", "output", "cache-read-input")}
    if tokens["input"] is None and tokens["output"] is None:
        return Outcome()
    return Outcome(
        usage=Usage.from_provider(
            {
                "inputTokens": tokens["input"] or 0,
                "outputTokens": tokens["output"] or 0,
                "cacheReadInputTokens": tokens["cache-read-input"] or 0,
                "cacheWriteInputTokens": _header_int(headers, "cache-write-input") or 0,
            }
        )
    )


class ConverseStreamState:
    """ConverseStream events: text deltas, ``messageStop``, then ``metadata.usage``."""

    __slots__ = ("_reason", "_text", "_usage")

    def __init__(self) -> None:
        self._usage: Usage | None = None
        self._reason: str | None = None
        self._text: list[str] = []

    def record(self, event: Any) -> None:
        if not isinstance(event, Mapping):
            return
        if "contentBlockDelta" in event:
            text = field_of(field_of(event["contentBlockDelta"], "delta"), "text")
            if isinstance(text, str):
                self._text.append(text)
        elif "messageStop" in event:
            self._reason = field_of(event["messageStop"], "stopReason")
        elif "metadata" in event:
            self._usage = Usage.from_provider(field_of(event["metadata"], "usage"))

    def outcome(self) -> Outcome:
        text = "".join(self._text)
        return Outcome(
            usage=self._usage,
            finish_reasons=[self._reason] if self._reason else [],
            output_messages=[{"role": "assistant", "content": text}] if text else None,
        )


class InvokeStreamState:
    """InvokeModelWithResponseStream chunks: the last one carries Bedrock's
    ``amazon-bedrock-invocationMetrics`` (the same for every model family)."""

    __slots__ = ("_usage",)

    def __init__(self) -> None:
        self._usage: Usage | None = None

    def record(self, event: Any) -> None:
        raw = field_of(field_of(event, "chunk"), "bytes")
        if not isinstance(raw, bytes) or b"invocationMetrics" not in raw:
            return
        metrics = json.loads(raw).get("amazon-bedrock-invocationMetrics") or {}
        self._usage = Usage.from_provider(
            {
                "inputTokens": metrics.get("inputTokenCount", 0),
                "outputTokens": metrics.get("outputTokenCount", 0),
                "cacheReadInputTokenCount": metrics.get("cacheReadInputTokenCount", 0),
                "cacheWriteInputTokenCount": metrics.get("cacheWriteInputTokenCount", 0),
            }
        )

    def outcome(self) -> Outcome:
        return Outcome(usage=self._usage)


def _no_prepare(kwargs: dict[str, Any], redact: Any, options: Any) -> dict[str, Any]:
    return kwargs


def _endpoint(name: str, read_request: Any, read_response: Any, state: Any) -> Endpoint:
    return Endpoint(name, A.OP_CHAT, "inference", read_request, read_response, state, _no_prepare)


#: operation → (endpoint, the parsed response key holding the event stream).
OPERATIONS: dict[str, tuple[Endpoint, str | None]] = {
    "Converse": (_endpoint("bedrock.converse", _converse_request, _converse_response, None), None),
    "ConverseStream": (
        _endpoint("bedrock.converse_stream", _converse_request, None, ConverseStreamState),
        "stream",
    ),
    "InvokeModel": (
        _endpoint("bedrock.invoke_model", _invoke_request, _invoke_response, None),
        None,
    ),
    "InvokeModelWithResponseStream": (
        _endpoint("bedrock.invoke_model_stream", _invoke_request, None, InvokeStreamState),
        "body",
    ),
}


class _Handlers:
    """The event handlers of one client (they hold its region and endpoint)."""

    def __init__(self, client: Any) -> None:
        meta = client.meta
        self.client = weakref.ref(client)
        self.region: str | None = meta.region_name
        self.attributes: dict[str, Any] = {}
        if self.region:
            self.attributes[_CLOUD_REGION] = self.region
        host, _, port = (
            (meta.endpoint_url or "").partition("://")[2].partition("/")[0].partition(":")
        )
        if host:
            self.attributes[A.SERVER_ADDRESS] = host
            self.attributes[A.SERVER_PORT] = int(port) if port.isdigit() else 443

    def parameters(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_KEY] = dict(params)

    def before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        params = context.pop(_KEY, None)
        found = OPERATIONS.get(model.name)
        if params is None or found is None:
            return
        endpoint, stream_key = found
        try:
            info = endpoint.read_request(params)
            if stream_key is not None:
                info = dataclasses.replace(info, stream=True)
            covering = kit.current_claim()
            if covering is not None:
                context[_KEY] = Call(endpoint, info, PROVIDER, None, covering)
                return
            unit = genops.governed(
                endpoint.name,
                endpoint.operation_type,
                provider=PROVIDER,
                model=info.model,
                request=genops.RequestEstimate(
                    input_tokens=info.input_bound,
                    max_output_tokens=info.max_output_tokens,
                    texts=info.texts,
                ),
                gen_ai_operation=endpoint.gen_ai_operation,
                kind=SpanKind.CLIENT,
                region=self.region,
                attributes={**self.attributes, A.GEN_AI_REQUEST_STREAM: info.stream},
            )
        except Exception as exc:
            kit.report(exc, "bedrock request")
            return
        unit.start()  # PolicyViolationError propagates: nothing has been sent
        if info.input_messages is not None:
            unit.record_content(input_messages=info.input_messages)
        context[_KEY] = Call(endpoint, info, PROVIDER, unit, None)

    def after_call(
        self,
        http_response: Any,
        parsed: dict[str, Any],
        model: Any,
        context: dict[str, Any],
        **_: Any,
    ) -> None:
        call = context.pop(_KEY, None)
        if not isinstance(call, Call):
            return
        if http_response.status_code >= 300:
            call.fail(self._error(parsed, model.name))
            return
        stream_key = OPERATIONS[model.name][1]
        state = call.endpoint.new_stream_state
        if stream_key is not None and state is not None and stream_key in parsed:
            stream = parsed[stream_key]  # aiobotocore's AioEventStream is async
            proxy = AsyncStreamProxy if hasattr(stream, "__aiter__") else SyncStreamProxy
            parsed[stream_key] = proxy(stream, call.finalizer(state()))
            return
        outcome = None
        with kit.guard("bedrock response"):
            outcome = call.endpoint.read_response(parsed)
        call.complete(outcome)

    def after_call_error(self, exception: BaseException, context: dict[str, Any], **_: Any) -> None:
        call = context.pop(_KEY, None)
        if isinstance(call, Call):
            call.fail(exception)

    def _error(self, parsed: Mapping[str, Any], operation: str) -> BaseException:
        """The exception the client is about to raise (its modeled class when known)."""
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        client = self.client()
        code = str(field_of(parsed.get("Error"), "Code") or "")
        error_class: Any = ClientError
        if client is not None and code:
            error_class = client.exceptions.from_code(code)
        error: BaseException = error_class(dict(parsed), operation)
        return error


_EVENTS = (
    ("before-parameter-build", "parameters"),
    ("before-call", "before_call"),
    ("after-call", "after_call"),
    ("after-call-error", "after_call_error"),
)
_lock = threading.Lock()
_instrumented: weakref.WeakKeyDictionary[Any, Callable[[], None]] = weakref.WeakKeyDictionary()


class BedrockInstrumentation:
    """Handle of ``instrument_bedrock``: ``uninstrument()`` removes what it registered."""

    def __init__(self, scope: str, undo: Callable[[], None]) -> None:
        self.scope = scope
        self._undo: Callable[[], None] | None = undo

    def uninstrument(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def __repr__(self) -> str:
        return f"<genops_native.BedrockInstrumentation {self.scope}>"


def instrument_client(client: Any) -> Callable[[], None]:
    """Register the handlers on one ``bedrock-runtime`` client; returns the undo."""
    service = client.meta.service_model.service_name
    if service != SERVICE:
        raise TypeError(f"instrument_bedrock() takes a {SERVICE} client, got {service}")
    with _lock:
        existing = _instrumented.get(client)
        if existing is not None:
            return existing
        handlers = _Handlers(client)
        events = client.meta.events
        registered = []
        for event, attr in _EVENTS:
            for operation in OPERATIONS:
                # Full names, registered first: the decision precedes any handler that may
                # answer instead of AWS (botocore's Stubber answers at ``before-call.*.*``).
                name = f"{event}.{SERVICE}.{operation}"
                unique_id = f"genops-{event}-{operation}-{id(handlers)}"
                events.register_first(name, getattr(handlers, attr), unique_id=unique_id)
                registered.append((name, unique_id))
        ref = weakref.ref(client)

        def undo() -> None:
            for name, unique_id in registered:
                events.unregister(name, unique_id=unique_id)
            alive = ref()
            if alive is not None:
                with _lock:
                    _instrumented.pop(alive, None)

        _instrumented[client] = undo
        return undo


def _governed(client: Any, service_name: str) -> Any:
    if service_name == SERVICE:
        with kit.guard("bedrock instrument"):
            instrument_client(client)
    return client


def _creating(original: Callable[..., Any]) -> Callable[..., Any]:
    """``create_client`` that instruments what it creates (aiobotocore's is a coroutine)."""
    if inspect.iscoroutinefunction(original):

        async def create_async(self: Any, service_name: str, *a: Any, **kw: Any) -> Any:
            return _governed(await original(self, service_name, *a, **kw), service_name)

        return functools.wraps(original)(create_async)

    def create(self: Any, service_name: str, *a: Any, **kw: Any) -> Any:
        return _governed(original(self, service_name, *a, **kw), service_name)

    return functools.wraps(original)(create)


def hook_new_clients() -> Callable[[], None]:
    """Instrument every ``bedrock-runtime`` client any botocore (or aiobotocore) session
    creates from now on."""
    from botocore.client import ClientCreator  # type: ignore[import-untyped]

    creators: list[Any] = [ClientCreator]
    try:
        from aiobotocore.client import AioClientCreator  # type: ignore[import-untyped]

        creators.append(AioClientCreator)
    except ImportError:
        pass
    patched = [(c, c.__dict__["create_client"]) for c in creators]
    wrappers = [_creating(original) for _, original in patched]
    for (creator, _), wrapper in zip(patched, wrappers, strict=True):
        creator.create_client = wrapper

    def undo() -> None:
        for (creator, original), wrapper in zip(patched, wrappers, strict=True):
            if creator.__dict__.get("create_client") is wrapper:
                creator.create_client = original

    return undo
