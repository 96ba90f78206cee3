"""The adapter kit: the one public API every framework and SDK adapter is built on.

Adapters import this module and :mod:`genops` — nothing under ``genops._*`` (CI
checks it). What it offers (see ``docs/adapters.md`` for a complete adapter):

=========================  ====================================================
run tree                   :class:`RunTree` — spans and governed units keyed by a
                           framework's own run ids, explicit parents, bounded,
                           roll-ups to ancestors, subtree end on error
governed call (wrapper)    :func:`genops.governed` with ``role="call"`` /
                           ``role="rollup"``
cost ownership             :class:`Claim`, :func:`current_claim`,
                           :func:`handoff` — each provider call counted once,
                           across threads and event loops
streams                    :class:`StreamFinalizer`, :class:`SyncStreamProxy`,
                           :class:`AsyncStreamProxy` — finish exactly once
request text               :func:`payload_texts`, :func:`redact_payload` — every
                           string sent to a provider, for content policies;
                           :func:`input_token_bound` — the reservation's bound
request parameters         :func:`first_text`, :func:`first_count`,
                           :data:`MODEL_KEYS`, :data:`MAX_OUTPUT_TOKEN_KEYS`,
                           :data:`ENDPOINT_KEYS`, :func:`attribution_from`
                           (``genops_`` metadata/tags)
enable on first import     :func:`when_imported` — an adapter of a heavy framework
                           waits for the framework's import
tool policies              :func:`start_tool`, :func:`check_tool` — the
                           ``allowed_tools`` allow-list before a tool runs
error isolation            :func:`guard`, :func:`report`, :func:`safe_call`,
                           :func:`error_type`, :func:`record_error`
=========================  ====================================================
"""

from typing import TYPE_CHECKING, Any

from genops._record import error_type
from genops._safety import guard, report, safe_call, should_raise
from genops.adapter.lazy import Deferred, when_imported
from genops.adapter.params import (
    ATTRIBUTION_PREFIX,
    ENDPOINT_KEYS,
    MAX_OUTPUT_TOKEN_KEYS,
    MODEL_KEYS,
    attribution_from,
    first_count,
    first_text,
)
from genops.adapter.payload import input_token_bound, payload_texts, redact_payload
from genops.adapter.tools import check_tool, start_tool
from genops.adapter.tree import DEFAULT_MAX_OPEN_RUNS, Node, RunEvicted, RunTree, record_error
from genops.claims import Claim, Handoff, current_claim, handoff
from genops.lifecycle import ROLE_CALL, ROLE_ROLLUP

if TYPE_CHECKING:
    from genops.adapter.streams import (
        AsyncStreamProxy,
        StreamFinalizer,
        StreamRecorder,
        SyncStreamProxy,
    )

#: names imported on first use: the stream proxies need wrapt, which ``import genops``
#: (through ``genops.check_tool``) should not pay for
_STREAMS = frozenset({"AsyncStreamProxy", "StreamFinalizer", "StreamRecorder", "SyncStreamProxy"})


def __getattr__(name: str) -> Any:
    if name in _STREAMS:
        from genops.adapter import streams

        return getattr(streams, name)
    raise AttributeError(f"module 'genops.adapter' has no attribute {name!r}")


__all__ = [
    "ATTRIBUTION_PREFIX",
    "DEFAULT_MAX_OPEN_RUNS",
    "ENDPOINT_KEYS",
    "MAX_OUTPUT_TOKEN_KEYS",
    "MODEL_KEYS",
    "ROLE_CALL",
    "ROLE_ROLLUP",
    "AsyncStreamProxy",
    "Claim",
    "Deferred",
    "Handoff",
    "Node",
    "RunEvicted",
    "RunTree",
    "StreamFinalizer",
    "StreamRecorder",
    "SyncStreamProxy",
    "attribution_from",
    "check_tool",
    "current_claim",
    "error_type",
    "first_count",
    "first_text",
    "guard",
    "handoff",
    "input_token_bound",
    "payload_texts",
    "record_error",
    "redact_payload",
    "report",
    "safe_call",
    "should_raise",
    "start_tool",
    "when_imported",
]
