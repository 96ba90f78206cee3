"""The one generic wrapper every governed SDK method goes through.

``begin`` decides who owns the call's cost:

- a claim covers it (a framework's call, the user's ``genops.governed(...,
  model=...)``; :func:`genops.adapter.current_claim`): no second span; the usage is
  added through the claim when the response (or the stream) is complete;
- otherwise a new CLIENT unit is opened — attribution, policy (a BLOCKED decision
  raises :class:`genops.PolicyViolationError` before the SDK sends anything) and
  reservation — and finished once the response or the stream is complete.

Either way the unit's ``redact`` (from a content policy) rewrites the outgoing text.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

import genops
from genops import GovernedUnit, PolicyViolationError
from genops import adapter as kit
from genops import attributes as A
from genops.adapter import AsyncStreamProxy, Claim, StreamFinalizer, SyncStreamProxy
from genops.providers import ResolvedProvider, resolve_provider
from genops_native._endpoint import (
    Endpoint,
    Options,
    Outcome,
    RequestInfo,
    StreamState,
    estimate_tokens,
    given,
)

#: Attribute marking our wrappers (value: the wrapped original function).
ORIGINAL = "__genops_original__"
#: Request arguments a caller may pass as one-shot iterators (the SDK lists them anyway).
_MATERIALIZE = ("messages", "input")


def provider_of(
    resource: Any,
    options: Options,
    wire_family: str,
    model: str | None,
    hint: str | None = None,
) -> ResolvedProvider:
    """The provider of an SDK resource's client, resolved by core (:mod:`genops.providers`):
    ``options.provider`` → user map → known host → ``hint`` (the covering framework
    unit's provider) → the SDK's wire family when it prices ``model`` → unknown."""
    client = getattr(resource, "_client", None)
    base_url = getattr(client, "base_url", None)
    return resolve_provider(
        base_url=str(base_url) if base_url is not None else None,
        explicit=options.provider,
        hint=hint,
        wire_family=wire_family,
        model=model,
    )


class Call:
    """One SDK call in flight: its own unit, or a call accounted through a claim."""

    __slots__ = (
        "covering", "endpoint", "estimate_usage", "hide_usage_chunk", "info", "provider", "unit",
    )  # fmt: skip

    def __init__(
        self,
        endpoint: Endpoint,
        info: RequestInfo,
        provider: str | None,
        unit: GovernedUnit | None,
        covering: Claim | None,
    ) -> None:
        self.endpoint = endpoint
        self.info = info
        self.provider = provider
        self.unit = unit
        self.covering = covering
        #: genops added ``stream_options.include_usage``: the caller never asked for the
        #: usage-only final chunk, so it is recorded but not handed to them.
        self.hide_usage_chunk = False
        #: The provider rejected ``stream_options``: count usage locally if none arrives.
        self.estimate_usage = False

    def without_stream_options(
        self, error: BaseException, kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The request to send again when the provider rejected the ``stream_options``
        genops added (an OpenAI-compatible server that does not know it), else ``None``."""
        status = getattr(error, "status_code", None)
        if not self.hide_usage_chunk or status not in (400, 422):
            return None
        if "stream_options" not in str(error).lower():
            return None
        self.hide_usage_chunk = False
        self.estimate_usage = True
        retry = dict(kwargs)
        retry.pop("stream_options", None)
        return retry

    @contextlib.contextmanager
    def activated(self) -> Iterator[None]:
        """The unit's span is current while the SDK sends (HTTP spans nest under it)."""
        unit = self.unit
        if unit is None or unit.span is trace.INVALID_SPAN:
            yield
            return
        token = otel_context.attach(trace.set_span_in_context(unit.span))
        try:
            yield
        finally:
            otel_context.detach(token)

    def first_chunk(self) -> None:
        if self.unit is not None:
            self.unit.record_first_chunk()

    def fail(self, error: BaseException) -> None:
        """The SDK raised before returning: end our unit with the error (covering: nothing)."""
        if self.unit is not None:
            self.unit.finish(error)

    def complete(self, outcome: Outcome | None, error: BaseException | None = None) -> None:
        """Apply what the response said, then end our unit (exactly once, by the core)."""
        try:
            if outcome is not None:
                self._apply(outcome)
        except Exception as exc:
            kit.report(exc, "native response")
        finally:
            if self.unit is not None:
                self.unit.finish(error)

    def _estimated(self, outcome: Outcome) -> Outcome:
        """Usage counted locally (input texts and output text, 4 characters a token)."""
        output = [
            m["content"]
            for m in outcome.output_messages or ()
            if isinstance(m, dict) and isinstance(m.get("content"), str)
        ]
        input_tokens = genops.RequestEstimate(texts=self.info.texts).typical_input_tokens()
        outcome.usage = genops.Usage(
            input_tokens=input_tokens, output_tokens=estimate_tokens(output)
        )
        outcome.estimated = True
        return outcome

    def _apply(self, outcome: Outcome) -> None:
        if outcome.usage is None and self.estimate_usage:
            outcome = self._estimated(outcome)
        model = outcome.model or self.info.model
        owner = self.covering.owner if self.covering is not None else self.unit
        if outcome.estimated and outcome.usage is not None and owner is not None:
            owner.set_attributes({A.USAGE_ESTIMATED: True})
        if self.covering is not None:
            self.covering.add_provider_call(outcome.usage, provider=self.provider, model=model)
            if outcome.model:
                self.covering.owner.set_response(model=outcome.model)
            return
        unit = self.unit
        assert unit is not None
        if outcome.usage is not None:
            unit.record_usage(raw=outcome.usage)
        unit.set_response(
            model=outcome.model,
            response_id=outcome.response_id,
            finish_reasons=outcome.finish_reasons or None,
        )
        if outcome.output_messages is not None:
            unit.record_content(output_messages=outcome.output_messages)

    def succeed(self, result: Any) -> Any:
        """Handle the SDK's return value: a stream gets a proxy, a response is read now."""
        endpoint = self.endpoint
        if self.info.stream and endpoint.new_stream_state is not None:
            if hasattr(result, "__anext__"):
                return AsyncStreamProxy(result, self.finalizer(endpoint.new_stream_state()))
            if hasattr(result, "__next__"):
                return SyncStreamProxy(result, self.finalizer(endpoint.new_stream_state()))
            self.complete(None)  # a raw/streaming-response wrapper: usage not readable here
            return result
        outcome = None
        try:
            outcome = endpoint.read_response(_parsed(result))
        except Exception as exc:
            kit.report(exc, "native response")
        self.complete(outcome)
        return result

    def finalizer(self, state: StreamState) -> StreamFinalizer:
        """The kit's stream finalizer for this call: completes it exactly once."""
        return StreamFinalizer(
            state,
            self.complete,
            on_first_chunk=self.first_chunk,
            hide=_usage_only_chunk if self.hide_usage_chunk else None,
        )


def _usage_only_chunk(chunk: Any) -> bool:
    """The final chunk ``include_usage`` adds: no choices, only usage."""
    return not getattr(chunk, "choices", None) and getattr(chunk, "usage", None) is not None


def _parsed(result: Any) -> Any:
    """The parsed body of ``client.x.with_raw_response.create(...)`` (parse() is cached)."""
    if type(result).__name__ == "LegacyAPIResponse":
        return result.parse()
    return result


def begin(
    endpoint: Endpoint,
    resource: Any,
    kwargs: dict[str, Any],
    options: Options,
    default_provider: str,
) -> tuple[Call, dict[str, Any]] | None:
    """Open the call's governance. ``None`` = instrumentation failed: call the SDK as is.

    Raises :class:`genops.PolicyViolationError` when the policy says no.
    """
    try:
        for key in _MATERIALIZE:
            if isinstance(kwargs.get(key), Iterator):  # read once for the estimate, sent as is
                kwargs[key] = list(kwargs[key])
        info = endpoint.read_request(kwargs)
        covering = kit.current_claim()
        hint = covering.owner.provider if covering is not None else None
        detected = provider_of(resource, options, default_provider, info.model, hint)
        asked = given(kwargs.get("stream_options"))
        if covering is not None:
            kwargs = endpoint.prepare(kwargs, covering.redact, options)
            call = Call(endpoint, info, detected.name, None, covering)
            call.hide_usage_chunk = not asked and given(kwargs.get("stream_options"))
            return call, kwargs
        attrs = detected.attributes()
        if endpoint.new_stream_state is not None:
            attrs[A.GEN_AI_REQUEST_STREAM] = info.stream
        unit = genops.governed(
            endpoint.name,
            endpoint.operation_type,
            provider=detected.name,
            model=info.model,
            request=genops.RequestEstimate(
                input_tokens=info.input_bound,
                max_output_tokens=info.max_output_tokens,
                texts=info.texts,
            ),
            gen_ai_operation=endpoint.gen_ai_operation,
            kind=SpanKind.CLIENT,
            attributes=attrs,
        )
    except Exception as exc:
        kit.report(exc, "native request")
        return None
    unit.start()  # PolicyViolationError propagates: nothing has been sent
    try:
        kwargs = endpoint.prepare(kwargs, unit.redact, options)
        if info.input_messages is not None:
            unit.record_content(input_messages=info.input_messages)
    except Exception as exc:
        unit.finish(exc)
        kit.report(exc, "native request")
        raise
    call = Call(endpoint, info, detected.name, unit, None)
    call.hide_usage_chunk = not asked and given(kwargs.get("stream_options"))
    return call, kwargs


def wrap_method(
    original: Callable[..., Any],
    endpoint: Endpoint,
    options: Options,
    default_provider: str,
    *,
    is_async: bool,
) -> Callable[..., Any]:
    """A replacement for the SDK method ``original`` (a plain function taking ``self``)."""
    if is_async:

        @functools.wraps(original)
        async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = begin(endpoint, self, kwargs, options, default_provider)
            if started is None:
                return await original(self, *args, **kwargs)
            call, kwargs = started
            try:
                with call.activated():
                    try:
                        result = await original(self, *args, **kwargs)
                    except Exception as exc:
                        retry = call.without_stream_options(exc, kwargs)
                        if retry is None:
                            raise
                        result = await original(self, *args, **retry)
            except BaseException as exc:
                call.fail(exc)
                raise
            return call.succeed(result)

        setattr(async_wrapper, ORIGINAL, original)
        return async_wrapper

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = begin(endpoint, self, kwargs, options, default_provider)
        if started is None:
            return original(self, *args, **kwargs)
        call, kwargs = started
        try:
            with call.activated():
                try:
                    result = original(self, *args, **kwargs)
                except Exception as exc:
                    retry = call.without_stream_options(exc, kwargs)
                    if retry is None:
                        raise
                    result = original(self, *args, **retry)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(result)

    setattr(wrapper, ORIGINAL, original)
    return wrapper


__all__ = ["ORIGINAL", "Call", "PolicyViolationError", "begin", "provider_of", "wrap_method"]
