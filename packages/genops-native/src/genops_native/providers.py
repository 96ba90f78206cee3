"""Re-exports of the known-host table, which now lives in core (:mod:`genops.provider_hosts`).

Provider *resolution* (explicit → user map → known host → framework hint → wire family)
is :func:`genops.providers.resolve_provider`.
"""

from genops.provider_hosts import PROVIDERS, DetectedProvider, ProviderInfo, detect_provider

__all__ = ["PROVIDERS", "DetectedProvider", "ProviderInfo", "detect_provider"]
