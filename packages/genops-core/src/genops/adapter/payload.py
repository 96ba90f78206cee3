"""Every text a request sends to a provider, for content policies and redaction.

    texts = payload_texts(kwargs["messages"])           # scan: system, user, assistant,
    kwargs["messages"] = redact_payload(kwargs["messages"], unit.redact)   # tool calls...

A content policy must see *all* of the request's text, not only ``content`` strings:
OpenAI ``tool_calls[].function.arguments`` (a JSON string), tool results, Responses
input items (``function_call_output.output``, ``reasoning`` summaries), Anthropic
``tool_use.input`` (any JSON), ``tool_result`` content, documents, and whatever block
types providers add next. So the walk is structural, not a list of known fields: every
string value anywhere in mappings, sequences and SDK objects (pydantic ``model_dump``)
is text, except the values of :data:`STRUCTURAL_KEYS` (identifiers and enums such as
``role``, ``type``, ``id``) and inline binary data (``base64`` sources, ``data:`` URLs).

:func:`redact_payload` returns a rewritten copy (the caller's objects are never
mutated; SDK objects become plain dicts, which every SDK accepts as request input).
A JSON string such as ``function.arguments`` stays valid JSON after redaction as long
as the replacement template contains no quote or backslash (the default does not).

:func:`input_token_bound` is the reservation's input side: an upper bound on the tokens
of a request from the same walk, counting every string (keys, roles, names, tool
definitions and schemas included) in UTF-8 bytes plus its JSON punctuation, inline
binary excluded::

    bound = input_token_bound(kwargs.get("messages"), kwargs.get("tools"))
    genops.RequestEstimate(input_tokens=bound, max_output_tokens=kwargs.get("max_tokens"))

It holds for byte-level BPE tokenizers (every token is at least one byte: OpenAI's
cl100k/o200k, GPT-2 style and Llama 3 vocabularies): the rendered prompt consists of
the request's strings plus a few template tokens per message and per tool, which the
JSON punctuation and key names (``"role":``, ``"content":`` …) outweigh, plus
:data:`BOUND_BASE`. Provider-side additions that are not in the request (Anthropic's
tool-use system prompt) are the caller's ``overhead``. Images, audio and files are not
bounded (their tokens depend on pixels and duration); they are charged at settlement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from genops.estimate import utf8_len

#: Keys whose string values are identifiers or enums, never user text.
STRUCTURAL_KEYS: Final = frozenset(
    {
        "type",
        "block_type",  # LlamaIndex content blocks
        "role",
        "id",
        "call_id",
        "tool_call_id",
        "tool_use_id",
        "model",
        "media_type",
        "mime_type",
        "status",
        "signature",
        "encrypted_content",
        "format",
        "detail",
        "cache_control",
        "file_id",
    }
)

#: Deepest nesting walked (deeper values are left as they are and not scanned).
MAX_DEPTH: Final = 64

#: Tokens :func:`input_token_bound` adds to every request (the reply's priming tokens,
#: a tools preamble).
BOUND_BASE: Final = 16


def _binary(key: str | None, value: str, parent: Mapping[str, Any] | None) -> bool:
    if value.startswith("data:") and ";base64," in value[:100]:
        return True
    return key == "data" and parent is not None and parent.get("type") == "base64"


def _plain(obj: Any) -> Any:
    """SDK objects (pydantic models) as plain data; everything else unchanged."""
    if isinstance(obj, str | bytes | int | float | bool | Mapping | list | tuple) or obj is None:
        return obj
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            return dump(exclude_none=True)
        except Exception:  # an odd object: leave it alone
            return obj
    return obj


def payload_texts(payload: Any) -> list[str]:
    """Every user-text string inside ``payload`` (see module docs), in order."""
    out: list[str] = []
    _collect(payload, None, None, out, 0)
    return out


def _collect(
    obj: Any, key: str | None, parent: Mapping[str, Any] | None, out: list[str], depth: int
) -> None:
    if depth > MAX_DEPTH:
        return
    obj = _plain(obj)
    if isinstance(obj, str):
        if obj and not _binary(key, obj, parent):
            out.append(obj)
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            if k not in STRUCTURAL_KEYS:
                _collect(v, k if isinstance(k, str) else None, obj, out, depth + 1)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _collect(item, key, parent, out, depth + 1)


def redact_payload(payload: Any, redact: Callable[[str], str]) -> Any:
    """A copy of ``payload`` with every user-text string passed through ``redact``."""
    return _rewrite(payload, None, None, redact, 0)


def _rewrite(
    obj: Any,
    key: str | None,
    parent: Mapping[str, Any] | None,
    redact: Callable[[str], str],
    depth: int,
) -> Any:
    if depth > MAX_DEPTH:
        return obj
    plain = _plain(obj)
    if isinstance(plain, str):
        return plain if not plain or _binary(key, plain, parent) else redact(plain)
    if isinstance(plain, Mapping):
        return {
            k: v
            if k in STRUCTURAL_KEYS
            else _rewrite(v, k if isinstance(k, str) else None, plain, redact, depth + 1)
            for k, v in plain.items()
        }
    if isinstance(plain, list | tuple):
        return [_rewrite(item, key, parent, redact, depth + 1) for item in plain]
    return obj


def input_token_bound(*parts: Any, overhead: int = 0) -> int:
    """An upper bound on the input tokens of a request made of ``parts`` (messages,
    system, tools, schemas …), plus ``overhead`` (see module docs).

    The parts are serialised as compact JSON (in C); only a request carrying inline
    binary (``base64``), an odd key or a cycle takes the slower structural walk."""
    total = BOUND_BASE + max(int(overhead), 0)
    for part in parts:
        try:
            text = json.dumps(part, ensure_ascii=False, separators=(",", ":"), default=_dump)
        except (TypeError, ValueError, RecursionError):
            text = None
        if text is None or "base64" in text:
            total += _size(part, None, None, 0)
        else:
            total += utf8_len(text)
    return total


def _dump(obj: Any) -> Any:
    plain = _plain(obj)
    return str(obj) if plain is obj else plain


def _size(obj: Any, key: str | None, parent: Mapping[str, Any] | None, depth: int) -> int:
    """Bytes of ``obj`` as compact JSON (UTF-8, escapes not counted), inline binary
    counted as an empty string."""
    if depth > MAX_DEPTH:
        return utf8_len(str(obj))
    obj = _plain(obj)
    if obj is None or isinstance(obj, bool):
        return 5 if obj is False else 4
    if isinstance(obj, str):
        return 2 if _binary(key, obj, parent) else utf8_len(obj) + 2
    if isinstance(obj, int | float):
        return len(repr(obj))
    if isinstance(obj, bytes):
        return 2
    if isinstance(obj, Mapping):
        return (
            2
            + max(len(obj) - 1, 0)
            + sum(
                utf8_len(str(k)) + 3 + _size(v, k if isinstance(k, str) else None, obj, depth + 1)
                for k, v in obj.items()
            )
        )
    if isinstance(obj, list | tuple):
        return 2 + max(len(obj) - 1, 0) + sum(_size(i, key, parent, depth + 1) for i in obj)
    return utf8_len(str(obj)) + 2
