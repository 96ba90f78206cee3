"""Provider resolution, in one place: which provider a call really goes to.

Every adapter (SDK wrappers, frameworks) asks here, so the span's
``gen_ai.provider.name`` — and so the price — is decided the same way everywhere::

    from genops.providers import resolve_provider

    resolved = resolve_provider(
        base_url=str(client.base_url),  # where the request goes
        explicit=None,  # instrument_openai(provider=...), if the user gave one
        hint="openai",  # the framework's own provider (LangChain ls_provider), if any
        wire_family="openai",  # the SDK's wire format
        model="gpt-4o-mini",  # the requested model
    )
    resolved.name  # 'openai'
    resolved.source  # 'wire_family': inferred, marked on the span
    resolved.attributes()  # server.address, server.port, genops.provider.source

The order, first answer wins:

1. ``explicit`` — the user said so (``instrument_openai(provider="openai")``);
2. the user map — ``genops.init(providers={"llm.internal.example": "openai",
   "*.azure-api.net": "azure.ai.openai"})`` or ``GENOPS_PROVIDERS`` (same pairs,
   ``host=provider`` separated by commas) for zero-code set-ups; keys are host names
   or ``fnmatch`` globs (``host:port`` to pin a port);
3. the known-host table (:mod:`genops.provider_hosts`: ``api.openai.com``, Azure,
   Groq, Bedrock, … and local servers on their default ports);
4. ``hint`` — the framework's own provider (LangChain ``ls_provider``, LlamaIndex /
   Haystack metadata), normalised with :func:`normalize_provider`;
5. ``wire_family`` — the SDK's wire format (``openai`` / ``anthropic``), but only when
   that provider prices ``model`` (a gateway in front of OpenAI serving
   ``gpt-4o-mini``);
6. unknown: the name is the host, the cost is unknown (never $0). A self-hosted model
   no price list knows (vLLM, Ollama) stays here; give it a price override.

The host always stays in ``server.address``. A name that is not a fact about the
endpoint is marked with the ``genops.provider.source`` extension attribute:
``framework`` or ``wire_family`` (inferences) or ``unknown``; explicit, mapped and
known-host names carry no mark. Results are cached per (base URL, explicit, hint, family, model):
nothing is parsed or priced per call.
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from genops import attributes as A
from genops.provider_hosts import detect_provider

if TYPE_CHECKING:
    from genops.pricing import PriceBook

#: Values of ``genops.provider.source``.
SOURCE_EXPLICIT: Final = "explicit"
SOURCE_USER_MAP: Final = "user_map"
SOURCE_KNOWN_HOST: Final = "known_host"
SOURCE_FRAMEWORK: Final = "framework"
SOURCE_WIRE_FAMILY: Final = "wire_family"
SOURCE_UNKNOWN: Final = "unknown"
#: Sources that are an inference rather than a fact about the endpoint.
INFERRED_SOURCES: Final = frozenset({SOURCE_FRAMEWORK, SOURCE_WIRE_FAMILY})

#: Provider names frameworks use → OpenTelemetry ``gen_ai.provider.name`` values
#: (LangChain ``ls_provider``, LlamaIndex / Haystack class families).
PROVIDER_ALIASES: Final[Mapping[str, str]] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "anthropic": "anthropic",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "google_genai": "gcp.gemini",
    "gemini": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "cohere": "cohere",
    "perplexity": "perplexity",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
}

_CACHE_LIMIT = 4096


def normalize_provider(name: str | None) -> str | None:
    """A framework's provider name as a semconv ``gen_ai.provider.name`` (unknown names
    pass through, lowercased); ``None`` for an empty value.

    >>> normalize_provider("azure"), normalize_provider("Bedrock"), normalize_provider("acme")
    ('azure.ai.openai', 'aws.bedrock', 'acme')
    """
    if not isinstance(name, str) or not name.strip():
        return None
    key = name.strip().lower()
    return PROVIDER_ALIASES.get(key, key)


@dataclass(frozen=True, slots=True)
class ResolvedProvider:
    """The answer of :func:`resolve_provider`."""

    #: ``gen_ai.provider.name``: the host when the provider is unknown, ``None`` when
    #: the caller knew nothing at all (no base URL, hint or family).
    name: str | None
    #: How it was found: one of the ``SOURCE_*`` constants (``genops.provider.source``).
    source: str
    #: ``server.address``, ``None`` without a base URL.
    host: str | None = None
    #: ``server.port``, ``None`` without a base URL.
    port: int | None = None

    @property
    def inferred(self) -> bool:
        """True when the name is an inference (framework hint, SDK wire family)."""
        return self.source in INFERRED_SOURCES

    @property
    def known(self) -> bool:
        """False when nothing named the provider (the name is then the host)."""
        return self.source != SOURCE_UNKNOWN

    def attributes(self) -> dict[str, Any]:
        """``server.address`` / ``server.port`` (when known), and ``genops.provider.source``
        when the name is not a fact about the endpoint (an inference, or unknown)."""
        attrs: dict[str, Any] = {}
        if self.source in INFERRED_SOURCES or self.source == SOURCE_UNKNOWN:
            attrs[A.PROVIDER_SOURCE] = self.source
        if self.host:
            attrs[A.SERVER_ADDRESS] = self.host
        if self.port is not None:
            attrs[A.SERVER_PORT] = self.port
        return attrs


class ProviderMap:
    """The user's host → provider map (``genops.init(providers=...)``, ``GENOPS_PROVIDERS``).

    Keys are host names or ``fnmatch`` globs, matched case-insensitively against the
    host, or against ``host:port`` when the key contains ``:``; exact keys win over
    globs, globs are tried in the order given. Values are provider names
    (:func:`normalize_provider` applies: ``azure`` → ``azure.ai.openai``).

    >>> m = ProviderMap({"llm.internal.example": "openai", "*.azure-api.net": "azure"})
    >>> m.match("apim.azure-api.net", 443)
    'azure.ai.openai'
    """

    __slots__ = ("_exact", "_globs")

    def __init__(self, entries: Mapping[str, str] | None = None) -> None:
        self._exact: dict[str, str] = {}
        self._globs: list[tuple[str, str]] = []
        for key, value in (entries or {}).items():
            if not isinstance(key, str) or not key.strip():
                raise ValueError(f"providers: key {key!r} must be a host name or glob")
            name = normalize_provider(value)
            if name is None:
                raise ValueError(f"providers: {key!r} must map to a provider name, got {value!r}")
            pattern = key.strip().lower()
            if any(c in pattern for c in "*?["):
                self._globs.append((pattern, name))
            else:
                self._exact[pattern] = name

    @classmethod
    def parse(cls, text: str) -> ProviderMap:
        """From ``GENOPS_PROVIDERS`` text: ``host=provider`` pairs separated by commas."""
        entries: dict[str, str] = {}
        for item in text.replace("\n", ",").split(","):
            item = item.strip()
            if not item:
                continue
            host, sep, provider = item.partition("=")
            if not sep or not host.strip() or not provider.strip():
                raise ValueError(
                    f"{A.ENV_PROVIDERS}: {item!r} is not host=provider "
                    "(e.g. 'llm.internal.example=openai,*.azure-api.net=azure.ai.openai')"
                )
            entries[host.strip()] = provider.strip()
        return cls(entries)

    def __bool__(self) -> bool:
        return bool(self._exact or self._globs)

    def match(self, host: str | None, port: int | None) -> str | None:
        """The provider the map gives this endpoint, else ``None``."""
        if not host:
            return None
        host = host.lower()
        with_port = f"{host}:{port}" if port is not None else host
        for candidate in (with_port, host):
            if candidate in self._exact:
                return self._exact[candidate]
        for pattern, name in self._globs:
            subject = with_port if ":" in pattern else host
            if fnmatch.fnmatchcase(subject, pattern):
                return name
        return None


def provider_map_from(
    providers: Mapping[str, str] | ProviderMap | None, *, environ: Mapping[str, str] = os.environ
) -> ProviderMap:
    """The map ``genops.init(providers=...)`` uses: the argument, else ``GENOPS_PROVIDERS``."""
    if isinstance(providers, ProviderMap):
        return providers
    if providers is not None:
        return ProviderMap(providers)
    return ProviderMap.parse(environ.get(A.ENV_PROVIDERS, ""))


class ProviderResolver:
    """Resolution with one runtime's user map and price book; results cached (bounded).

    Adapters call :func:`resolve_provider` (the current runtime's resolver).
    """

    def __init__(self, user_map: ProviderMap, prices: PriceBook) -> None:
        self.user_map = user_map
        self._prices = prices
        self._cache: dict[
            tuple[str, str | None, str | None, str | None, str | None], ResolvedProvider
        ] = {}
        self._lock = threading.Lock()

    def resolve(
        self,
        *,
        base_url: str | None = None,
        explicit: str | None = None,
        hint: str | None = None,
        wire_family: str | None = None,
        model: str | None = None,
    ) -> ResolvedProvider:
        """See :func:`resolve_provider`."""
        key = (base_url or "", explicit, hint, wire_family, model)
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(base_url or "", explicit, hint, wire_family, model)
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:  # bounded: model names are user input
                    self._cache.clear()
                self._cache[key] = found
        return found

    def _resolve(
        self,
        base_url: str,
        explicit: str | None,
        hint: str | None,
        family: str | None,
        model: str | None,
    ) -> ResolvedProvider:
        family = normalize_provider(family)
        detected = detect_provider(base_url, family or "")
        host, port = detected.host, detected.port
        chosen = normalize_provider(explicit)
        if chosen:
            return ResolvedProvider(chosen, SOURCE_EXPLICIT, host, port)
        mapped = self.user_map.match(host, port)
        if mapped:
            return ResolvedProvider(mapped, SOURCE_USER_MAP, host, port)
        if host and detected.known:
            return ResolvedProvider(detected.name, SOURCE_KNOWN_HOST, host, port)
        framework = normalize_provider(hint)
        if framework:
            return ResolvedProvider(framework, SOURCE_FRAMEWORK, host, port)
        if family and (not host or (model and self._prices.lookup(family, model) is not None)):
            # no base URL: the SDK's own default endpoint, which is that provider
            return ResolvedProvider(family, SOURCE_WIRE_FAMILY, host, port)
        return ResolvedProvider(host or family or None, SOURCE_UNKNOWN, host, port)


def resolve_provider(
    *,
    base_url: str | None = None,
    explicit: str | None = None,
    hint: str | None = None,
    wire_family: str | None = None,
    model: str | None = None,
) -> ResolvedProvider:
    """The provider of one call, with the current runtime's user map and prices.

    All arguments are optional and keyword-only: pass what the adapter knows. ``hint``
    and ``explicit`` may be framework spellings (``azure``, ``bedrock``); see the module
    docstring for the order. Cheap after the first call with the same arguments.
    """
    from genops.runtime import get_runtime

    return get_runtime().providers.resolve(
        base_url=base_url, explicit=explicit, hint=hint, wire_family=wire_family, model=model
    )


__all__ = [
    "INFERRED_SOURCES",
    "PROVIDER_ALIASES",
    "SOURCE_EXPLICIT",
    "SOURCE_FRAMEWORK",
    "SOURCE_KNOWN_HOST",
    "SOURCE_UNKNOWN",
    "SOURCE_USER_MAP",
    "SOURCE_WIRE_FAMILY",
    "ProviderMap",
    "ProviderResolver",
    "ResolvedProvider",
    "normalize_provider",
    "provider_map_from",
    "resolve_provider",
]
