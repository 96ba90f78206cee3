"""Google Gen AI SDK (``google-genai``): Gemini API and Vertex AI.

No request/response hook API exists (``http_options`` takes an httpx/aiohttp client: bytes,
per client), so the methods that send one request each are wrapped: ``_generate_content``
/ ``_generate_content_stream`` (function-calling loops and continuations: a unit per
request) and ``embed_content``, on ``Models`` and ``AsyncModels`` (``client.aio.models``).
"""

from __future__ import annotations

import dataclasses
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
    Site,
    content_texts,
    field_of,
    int_or_none,
    redact_content,
)
from genops_native._patch import Target

GEMINI = "gcp.gemini"
VERTEX = "gcp.vertex_ai"


def model_id(model: Any) -> str | None:
    """``models/x``, ``publishers/google/models/x``, ``google/x`` → ``x`` (genai-prices' id)."""
    if not isinstance(model, str) or not model:
        return None
    if "models/" in model:
        return model.rsplit("models/", 1)[1]
    return model.removeprefix("google/")


def _site(resource: Any, kwargs: Mapping[str, Any]) -> Site:
    api = getattr(resource, "_api_client", None)
    vertex = getattr(api, "vertexai", False) is True
    base = field_of(getattr(api, "_http_options", None), "base_url")
    location = getattr(api, "location", None) if vertex else None
    return Site(
        base_url=base if isinstance(base, str) else None,
        family=VERTEX if vertex else GEMINI,
        region=location if isinstance(location, str) else None,
    )


def _generate_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    config = kwargs.get("config")
    contents = kwargs.get("contents")
    texts = content_texts(field_of(config, "system_instruction")) + content_texts(contents)
    return RequestInfo(
        model=model_id(kwargs.get("model")),
        max_output_tokens=int_or_none(field_of(config, "max_output_tokens")),
        texts=tuple(texts),
        stream=False,
        input_messages=redact_content(contents, str),  # plain data: capture redacts strings
    )


def _stream_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    return dataclasses.replace(_generate_request(kwargs), stream=True)


def _prepare(kwargs: dict[str, Any], redact: Redact | None, options: Options) -> dict[str, Any]:
    if redact is None:
        return kwargs
    if kwargs.get("contents") is not None:
        kwargs["contents"] = redact_content(kwargs["contents"], redact)
    config = kwargs.get("config")
    system = field_of(config, "system_instruction")
    if system is not None:
        system = redact_content(system, redact)
        if isinstance(config, Mapping):
            kwargs["config"] = {**config, "system_instruction": system}
        elif config is not None:
            kwargs["config"] = config.model_copy(update={"system_instruction": system})
    return kwargs


def _reason(candidate: Any) -> str | None:
    reason = field_of(candidate, "finish_reason")
    if reason is None:
        return None
    return str(getattr(reason, "value", reason)).lower()


def _texts(candidate: Any) -> list[str]:
    parts = field_of(field_of(candidate, "content"), "parts") or ()
    return [
        t for p in parts if isinstance(t := field_of(p, "text"), str) and not field_of(p, "thought")
    ]


def _generate_response(response: Any) -> Outcome:
    candidates = field_of(response, "candidates") or ()
    texts = [t for c in candidates for t in _texts(c)]
    return Outcome(
        usage=Usage.from_provider(field_of(response, "usage_metadata")),
        model=field_of(response, "model_version"),
        response_id=field_of(response, "response_id"),
        finish_reasons=[r for c in candidates if (r := _reason(c))],
        output_messages=[{"role": "assistant", "content": "".join(texts)}] if texts else None,
    )


class GenerateStreamState:
    """``streamGenerateContent`` chunks: every chunk is a ``GenerateContentResponse``; the
    token counts arrive (cumulative) on the last ones."""

    __slots__ = ("_id", "_model", "_reasons", "_text", "_usage")

    def __init__(self) -> None:
        self._usage: Usage | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._reasons: list[str] = []
        self._text: list[str] = []

    def record(self, chunk: Any) -> None:
        usage = Usage.from_provider(field_of(chunk, "usage_metadata"))
        if usage is not None:
            self._usage = usage
        self._model = self._model or field_of(chunk, "model_version")
        self._id = self._id or field_of(chunk, "response_id")
        for candidate in field_of(chunk, "candidates") or ():
            self._text.extend(_texts(candidate))
            reason = _reason(candidate)
            if reason:
                self._reasons.append(reason)

    def outcome(self) -> Outcome:
        text = "".join(self._text)
        return Outcome(
            usage=self._usage,
            model=self._model,
            response_id=self._id,
            finish_reasons=self._reasons,
            output_messages=[{"role": "assistant", "content": text}] if text else None,
        )


def _embed_request(kwargs: Mapping[str, Any]) -> RequestInfo:
    return RequestInfo(
        model=model_id(kwargs.get("model")),
        max_output_tokens=0,
        texts=tuple(content_texts(kwargs.get("contents"))),
        stream=False,
    )


def _embed_response(response: Any) -> Outcome:
    """``usage_metadata`` when sent; else Vertex's per-embedding ``statistics.token_count``."""
    usage = Usage.from_provider(field_of(response, "usage_metadata"))
    if usage is None:
        counts = [  # floats in the SDK's types (``token_count=3.0``)
            field_of(field_of(e, "statistics"), "token_count")
            for e in field_of(response, "embeddings") or ()
        ]
        if counts and all(isinstance(c, int | float) and c >= 0 for c in counts):
            usage = Usage(input_tokens=int(sum(counts)), output_tokens=0)
    return Outcome(usage=usage)


GENERATE = Endpoint(
    "gemini.generate_content", A.OP_CHAT, "inference", _generate_request, _generate_response,
    GenerateStreamState, _prepare, _site,
)  # fmt: skip
GENERATE_STREAM = GENERATE._replace(
    name="gemini.generate_content_stream", read_request=_stream_request
)
EMBED = Endpoint(
    "gemini.embed_content", A.OP_EMBEDDINGS, "embedding", _embed_request, _embed_response,
    None, _prepare, _site,
)  # fmt: skip

_MODELS = "google.genai.models"
TARGETS: tuple[Target, ...] = (
    Target(_MODELS, "Models", "_generate_content", "models", GENERATE, False),
    Target(_MODELS, "Models", "_generate_content_stream", "models", GENERATE_STREAM, False),
    Target(_MODELS, "Models", "embed_content", "models", EMBED, False),
    Target(_MODELS, "AsyncModels", "_generate_content", "aio.models", GENERATE, True),
    Target(_MODELS, "AsyncModels", "_generate_content_stream", "aio.models", GENERATE_STREAM, True),
    Target(_MODELS, "AsyncModels", "embed_content", "aio.models", EMBED, True),
)
