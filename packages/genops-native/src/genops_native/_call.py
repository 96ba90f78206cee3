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
from genops.providers import resolve_provider
from genops_native._endpoint import (
    Endpoint,
    Options,
    Outcome,
    RequestInfo,
    Site,
    StreamState,
    estimate_tokens,
    given,
)

#: Attribute marking our wrappers (value: the wrapped original function).
ORIGINAL = "__genops_original__"
CLOUD_REGION = "cloud.region"
#: Request arguments a caller may pass as one-shot iterators (the SDK lists them anyway).
_MATERIALIZE = ("messages", "input")


def client_site(resource: Any, kwargs: Any = None) -> Site:
    """Where an OpenAI / Anthropic resource's client sends: its ``_client.base_url``."""
    base_url = getattr(getattr(resource, "_client", None), "base_url", None)
    return Site(base_url=str(base_url) if base_url is not None else None)


class Call:
    """One SDK call in flight: its own unit, or a call accounted through a claim."""

    __slots__ = (
        "covering", "endpoint", "estimate_usage", "hide_usage_chunk", "info", "inner",
        "is_async", "provider", "unit",
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
        #: Made by an async client: its stream is async. Said by the wrapper, not guessed
        #: from the stream (another instrumentation's proxy has both __next__ and __anext__).
        self.is_async = False
        #: The claim an SDK layer beneath this call accounts through (LiteLLM over the
        #: OpenAI SDK): once it took the provider call, this call's usage is not added again.
        self.inner: Claim | None = None

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
        """The unit's span — or the covering claim's (a framework run's) — is current
        while the SDK sends: spans the SDK emits itself (anthropic >= 2) and HTTP spans
        nest under it instead of starting a trace of their own."""
        span = self.unit.span if self.unit is not None else None
        if span is None and self.covering is not None:
            span = self.covering.span
        if span is None or not span.get_span_context().is_valid:
            yield
            return
        token = otel_context.attach(trace.set_span_in_context(span))
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
        if self.inner is not None and self.inner.provider_calls:
            outcome.usage = None  # already accounted by the SDK layer beneath
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

    def succeed(self, result: Any, is_async: bool | None = None) -> Any:
        """Handle the SDK's return value: a stream gets a proxy, a response is read now
        (``is_async`` picks the proxy of a stream that is both sync and async iterable)."""
        endpoint = self.endpoint
        if self.info.stream and endpoint.new_stream_state is not None:
            asynchronous = self.is_async if is_async is None else is_async
            if asynchronous and hasattr(result, "__anext__"):
                return AsyncStreamProxy(result, self.finalizer(endpoint.new_stream_state()))
            if not asynchronous and hasattr(result, "__next__"):
                return SyncStreamProxy(result, self.finalizer(endpoint.new_stream_state()))
            if _raw_stream(result, lambda stream: self.succeed(stream)):
                return result  # completes when the parsed stream does
            self.complete(None)  # a streaming-response wrapper: usage not readable here
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


#: ``with_raw_response`` wrappers whose ``parse()`` is synchronous (openai, anthropic).
_SYNC_RAW = frozenset({"LegacyAPIResponse", "APIResponse"})


def _raw_stream(result: Any, wrap: Callable[[Any], Any]) -> bool:
    """``with_raw_response.create(stream=True)`` (what LangChain's ChatAnthropic sends):
    its ``parse()`` hands out the stream through ``wrap`` (once; parse is cached), so
    usage is read from the events the caller iterates."""
    parse = getattr(result, "parse", None)
    if type(result).__name__ not in _SYNC_RAW or not callable(parse):
        return False
    wrapped: list[Any] = []

    def parse_wrapped(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # parse(to=...): a type of the caller's, not the stream
            return parse(*args, **kwargs)
        if not wrapped:
            wrapped.append(wrap(parse()))
        return wrapped[0]

    result.parse = parse_wrapped
    return True


async def succeed_async_raw(call: Call, result: Any) -> Any:
    """An async client's ``with_raw_response`` result (``AsyncAPIResponse``, async
    ``parse()``): a stream is handed out governed by ``parse()``; a response is parsed
    now (cached: the caller's ``parse()`` returns the same object) and read."""
    parse = result.parse
    if not call.info.stream:
        call.succeed(await parse())
        return result
    wrapped: list[Any] = []

    async def parse_wrapped(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs:
            return await parse(*args, **kwargs)
        if not wrapped:
            wrapped.append(call.succeed(await parse()))
        return wrapped[0]

    result.parse = parse_wrapped
    return result


def _parsed(result: Any) -> Any:
    """The parsed body of ``client.x.with_raw_response.create(...)`` (parse() is cached)."""
    if type(result).__name__ in _SYNC_RAW:
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
        # Core's order: explicit → user map → known host → hint → wire family → unknown.
        site = (endpoint.site or client_site)(resource, kwargs)
        detected = resolve_provider(
            base_url=site.base_url,
            explicit=options.provider,
            hint=site.hint or hint,
            wire_family=site.family or default_provider,
            model=info.model,
        )
        asked = given(kwargs.get("stream_options"))
        if covering is not None:
            kwargs = endpoint.prepare(kwargs, covering.redact, options)
            call = Call(endpoint, info, detected.name, None, covering)
            call.hide_usage_chunk = not asked and given(kwargs.get("stream_options"))
            return call, kwargs
        attrs = detected.attributes()
        if endpoint.new_stream_state is not None:
            attrs[A.GEN_AI_REQUEST_STREAM] = info.stream
        if site.region:
            attrs[CLOUD_REGION] = site.region
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
            region=site.region,
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
            call.is_async = True
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
            if type(result).__name__ == "AsyncAPIResponse":
                return await succeed_async_raw(call, result)
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


__all__ = ["ORIGINAL", "Call", "PolicyViolationError", "begin", "client_site", "wrap_method"]
