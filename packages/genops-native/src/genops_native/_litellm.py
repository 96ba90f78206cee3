"""LiteLLM (``litellm.completion`` / ``acompletion`` / ``embedding`` / ``aembedding``).

LiteLLM's callbacks cannot stop a call in SDK mode (``CustomLogger.log_pre_api_call`` runs
in a ``try/except`` that swallows every exception; ``async_pre_call_hook`` and guardrails
run only in the LiteLLM proxy), so the four module functions are wrapped: the narrowest
place that blocks before anything is sent. Requests and responses are OpenAI-shaped. The
unit's claim is current while LiteLLM works: the OpenAI SDK beneath it (``openai/…``,
Azure) adds its call to this unit, which then does not add LiteLLM's copy (``Call.inner``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from genops import Usage
from genops import adapter as kit
from genops import attributes as A
from genops_native import _openai as oa
from genops_native._call import ORIGINAL, Call, begin
from genops_native._endpoint import Endpoint, Options, Outcome, RequestInfo, Site
from genops_native._patch import Instrumentation

#: Issuer of the claims LiteLLM units hand to the SDK layer beneath them.
ISSUER = object()
_lock = threading.Lock()
_resolved: dict[tuple[Any, Any, Any], tuple[str, str | None, str | None]] = {}


def resolve(kwargs: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """``(model, LiteLLM provider, api base)`` of a call, from LiteLLM's own resolution."""
    model, custom = kwargs.get("model"), kwargs.get("custom_llm_provider")
    base = kwargs.get("api_base") or kwargs.get("base_url")
    found = _resolved.get(key := (model, custom, base))
    if found is None:
        import litellm

        name, provider, base_out = str(model or ""), custom, base
        try:
            name, provider, _, base_out = litellm.get_llm_provider(
                model=str(model), custom_llm_provider=custom, api_base=base
            )
        except Exception:  # LiteLLM does not know it either: the call will fail in LiteLLM
            pass
        found = (name, provider, base_out)
        with _lock:
            if len(_resolved) > 4096:  # bounded: model names are user input
                _resolved.clear()
            _resolved[key] = found
    return found


def _site(resource: Any, kwargs: Mapping[str, Any]) -> Site:
    return Site(base_url=resolve(kwargs)[2], hint=resolve(kwargs)[1])


def _reader(read: Callable[[Mapping[str, Any]], RequestInfo]) -> Any:
    def read_request(kwargs: Mapping[str, Any]) -> RequestInfo:
        return dataclasses.replace(read(kwargs), model=resolve(kwargs)[0] or None)

    return read_request


def _completion_response(response: Any) -> Outcome:
    outcome = oa._chat_response(response)
    if (getattr(response, "_hidden_params", None) or {}).get("cache_hit") is True:
        outcome.usage = Usage()  # served from LiteLLM's cache: no provider call, no cost
    return outcome


COMPLETION = Endpoint(
    "litellm.completion", A.OP_CHAT, "inference", _reader(oa._chat_request), _completion_response,
    oa.ChatStreamState, oa._chat_prepare, _site,
)  # fmt: skip
EMBEDDING = oa.EMBEDDINGS._replace(
    name="litellm.embedding", read_request=_reader(oa._embeddings_request), site=_site
)
#: module function → (endpoint, async, its first parameters, for positional arguments).
FUNCTIONS = {
    "completion": (COMPLETION, False, ("model", "messages")),
    "acompletion": (COMPLETION, True, ("model", "messages")),
    "embedding": (EMBEDDING, False, ("model", "input")),
    "aembedding": (EMBEDDING, True, ("model", "input")),
}


def _start(
    endpoint: Endpoint, names: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: Options
) -> tuple[Call, dict[str, Any], kit.Claim] | None:
    """Govern one call; ``None``: call LiteLLM as is (inside another LiteLLM call — Router,
    ``acompletion`` → ``completion`` — or an instrumentation failure)."""
    claim = kit.current_claim()
    if claim is not None and claim.issuer is ISSUER:
        return None
    if len(args) > len(names):
        return None  # positional arguments genops cannot name: LiteLLM as is
    named = dict(zip(names, args, strict=False)) | kwargs
    started = begin(endpoint, None, named, options, "")
    if started is None:
        return None
    call, sent = started
    if call.covering is not None:  # a user / framework unit: count this call under it once
        call.covering = call.covering.sub_claim(issuer=ISSUER)
        call.inner = call.covering
    else:
        assert call.unit is not None
        call.inner = call.unit.claim(issuer=ISSUER)
    return call, sent, call.inner


def wrap(original: Callable[..., Any], name: str, options: Options) -> Callable[..., Any]:
    """The governed stand-in for ``litellm.<name>``."""
    endpoint, is_async, first = FUNCTIONS[name]
    try:  # the real parameter order (``inspect`` follows LiteLLM's decorators)
        names: Any = [p.name for p in inspect.signature(original).parameters.values()]
        names = tuple(itertools.takewhile(lambda n: n not in ("kwargs", "args"), names)) or first
    except (TypeError, ValueError):
        names = first
    if is_async:

        @functools.wraps(original)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            started = _start(endpoint, names, args, kwargs, options)
            if started is None:
                return await original(*args, **kwargs)
            call, sent, claim = started
            try:
                with claim.activated(), call.activated():
                    result = await original(**sent)
            except BaseException as exc:
                call.fail(exc)
                raise
            return call.succeed(result, is_async=True)

        setattr(async_wrapper, ORIGINAL, original)
        return async_wrapper

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = _start(endpoint, names, args, kwargs, options)
        if started is None:
            return original(*args, **kwargs)
        call, sent, claim = started
        try:
            with claim.activated(), call.activated():
                result = original(**sent)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.succeed(result, is_async=False)

    setattr(wrapper, ORIGINAL, original)
    return wrapper


def patch(module: Any, handle: Instrumentation) -> None:
    """Wrap the module functions of ``litellm`` (already governed ones are left alone)."""
    for name in FUNCTIONS:
        current = getattr(module, name, None)
        if current is None or hasattr(current, ORIGINAL):
            continue
        wrapped = wrap(current, name, handle.options)
        setattr(module, name, wrapped)

        def undo(name: str = name, current: Any = current, wrapped: Any = wrapped) -> None:
            if getattr(module, name, None) is wrapped:
                setattr(module, name, current)

        handle._undo.append(undo)
        handle.patched.append(f"litellm.{name}")


_current: Instrumentation | None = None


def instrument(options: Options) -> Instrumentation:
    """Wrap ``litellm`` (imported here). ``genops.init()`` calls this only once the app
    imports LiteLLM (entry point ``genops.instrument_on_import: litellm``): importing it
    takes seconds, genops does not pay that for an app that never uses it. Raises
    ImportError when LiteLLM is not installed."""
    global _current
    with _lock:
        if _current is not None and _current.active:
            return _current
        import litellm

        handle = _current = Instrumentation("litellm", "module", options)
        patch(litellm, handle)
        return handle
