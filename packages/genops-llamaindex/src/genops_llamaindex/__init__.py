"""genops for LlamaIndex: governed, nested OpenTelemetry spans from the instrumentation API.

::

    import genops_llamaindex

    handle = genops_llamaindex.enable()   # genops.init() does this when installed
    index.as_query_engine().query("...")  # query → retrieval → embeddings → chat, governed
    handle.uninstrument()                  # or genops_llamaindex.disable()

Attribution: ``genops.attribution(...)`` around the call, or LlamaIndex's
``instrument_tags({"genops_customer_id": "acme"})`` (see :data:`TAG_PREFIX`).
"""

from genops_llamaindex._enable import LlamaIndexInstrumentation, disable, enable
from genops_llamaindex._extract import PROVIDERS, TAG_PREFIX
from genops_llamaindex._handler import (
    GenOpsEventHandler,
    GenOpsInstrumentation,
    GenOpsSpanHandler,
)

__all__ = [
    "PROVIDERS",
    "TAG_PREFIX",
    "GenOpsEventHandler",
    "GenOpsInstrumentation",
    "GenOpsSpanHandler",
    "LlamaIndexInstrumentation",
    "disable",
    "enable",
]
