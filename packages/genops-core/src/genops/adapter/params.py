"""Request parameters and attribution as frameworks spell them: shared by every adapter.

Frameworks pass a call's model and output-token cap under a handful of well-known
names (``model``, ``model_name``, ``max_tokens``, ``max_completion_tokens``, …) and let
users attach attribution as ``genops_``-prefixed metadata keys or ``key:value`` tags::

    from genops import adapter as kit

    model = kit.first_text(invocation_params, keys=kit.MODEL_KEYS)
    cap = kit.first_count(runtime_kwargs, init_kwargs, keys=kit.MAX_OUTPUT_TOKEN_KEYS)
    who = kit.attribution_from(metadata, tags=["genops_team:support"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from genops.attribution import Attribution

#: Parameter names that carry the requested model, most specific first.
MODEL_KEYS: Final = ("model", "model_name", "model_id", "deployment_name", "azure_deployment")
#: Parameter names that carry the output-token cap of a request.
MAX_OUTPUT_TOKEN_KEYS: Final = (
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "max_new_tokens",
    "num_predict",
)
#: Parameter names that carry the endpoint a client or model was built with.
ENDPOINT_KEYS: Final = (
    "base_url",
    "api_base",
    "openai_api_base",
    "anthropic_api_url",
    "azure_endpoint",
    "api_base_url",
)
#: The prefix of attribution keys in framework metadata and tags (``genops_team``).
ATTRIBUTION_PREFIX: Final = "genops_"


def first_text(*sources: Mapping[str, Any] | None, keys: Iterable[str]) -> str | None:
    """The first non-empty string under ``keys``, searching ``sources`` in order."""
    names = tuple(keys)
    for source in sources:
        if isinstance(source, Mapping):
            for key in names:
                value = source.get(key)
                if isinstance(value, str) and value:
                    return value
    return None


def first_count(*sources: Mapping[str, Any] | None, keys: Iterable[str]) -> int | None:
    """The first non-negative integer (not a bool) under ``keys``, searching in order."""
    names = tuple(keys)
    for source in sources:
        if isinstance(source, Mapping):
            for key in names:
                value = source.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    return value
    return None


def attribution_from(
    metadata: Mapping[str, Any] | None = None,
    *,
    tags: Iterable[object] | None = None,
    prefix: str = ATTRIBUTION_PREFIX,
) -> Attribution | None:
    """Attribution from prefixed metadata keys and ``prefix``-ed ``key:value`` tags.

    Metadata wins over tags; ``None`` when neither names an attribution field.

        attribution_from({"genops_team": "support"}, tags=["genops_customer_id:acme"])
        # -> Attribution(team="support", customer_id="acme")
    """
    found: dict[str, object] = {}
    for tag in tags or ():
        if isinstance(tag, str) and tag.startswith(prefix) and ":" in tag:
            key, _, value = tag.partition(":")
            if value.strip():
                found[key] = value
    for key, value in (metadata or {}).items():
        if isinstance(key, str) and key.startswith(prefix):
            found[key] = value
    if not found:
        return None
    result = Attribution.from_mapping(found, prefix=prefix)
    return result if result.as_dict() else None
