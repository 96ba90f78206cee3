"""genops for LangChain: governed, nested OpenTelemetry spans for every run.

Explicit handler::

    from genops_langchain import GenOpsCallbackHandler

    chain.invoke(question, config={"callbacks": [GenOpsCallbackHandler()]})

Global, through LangChain's configure hook (``genops.init()`` does this when the
package is installed)::

    import genops_langchain

    handle = genops_langchain.enable()
    ...
    handle.uninstrument()

Attribution from run metadata: ``config={"metadata": {"genops_team": "support",
"genops_customer_id": "acme"}}`` (see :data:`METADATA_PREFIX`).
"""

from genops.adapter import DEFAULT_MAX_OPEN_RUNS, RunEvicted
from genops_langchain._extract import AGENT_METADATA_KEY, METADATA_PREFIX, PROVIDERS
from genops_langchain._global import LangChainInstrumentation, enable
from genops_langchain._handler import GenOpsCallbackHandler

__all__ = [
    "AGENT_METADATA_KEY",
    "DEFAULT_MAX_OPEN_RUNS",
    "METADATA_PREFIX",
    "PROVIDERS",
    "GenOpsCallbackHandler",
    "LangChainInstrumentation",
    "RunEvicted",
    "enable",
]
