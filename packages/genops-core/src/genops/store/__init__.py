"""The local spend store: governed units in one SQLite file, answering spend questions.

``genops.init()`` writes here by default when no OTLP endpoint is configured (see
:mod:`genops.destinations`); ``genops report`` reads it.

::

    from genops.store import LocalStore, Query, spend
    rows = spend(LocalStore(readonly=True), Query.last("7d", by=("model",), filters={"team": "x"}))
"""

from genops.attributes import ENV_LOCAL_STORE
from genops.destinations import default_path
from genops.store.db import LocalStore
from genops.store.exporter import StoreSpanExporter, store_processor
from genops.store.query import GROUPS, Query, decisions, spend, units
from genops.store.schema import COLUMNS, SCHEMA_VERSION

__all__ = [
    "COLUMNS",
    "ENV_LOCAL_STORE",
    "GROUPS",
    "SCHEMA_VERSION",
    "LocalStore",
    "Query",
    "StoreSpanExporter",
    "decisions",
    "default_path",
    "spend",
    "store_processor",
    "units",
]
