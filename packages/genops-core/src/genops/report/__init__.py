"""Spend reports over the local store: table, CSV, JSON, self-contained HTML, FinOps FOCUS.

::

    from genops.report import build, render
    from genops.store import LocalStore, Query
    data = build(LocalStore(readonly=True), Query.last("7d", by=("team", "model")))
    print(render(data, "csv"))
"""

from genops.report.data import ReportData, build
from genops.report.render import FORMATS, render

__all__ = ["FORMATS", "ReportData", "build", "render"]
