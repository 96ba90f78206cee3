"""``genops.init()`` does not import crewai; the integration turns on when the app does."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import sys
import genops

genops.init(exporter="none", local_store=False, team="t", project="p")
assert "crewai" not in sys.modules, "genops.init() imported crewai"
from crewai.hooks import InterceptionPoint, get_hooks

assert len(get_hooks(InterceptionPoint.PRE_MODEL_CALL)) == 1
genops.shutdown()
assert get_hooks(InterceptionPoint.PRE_MODEL_CALL) == []
print("ok")
"""


def test_init_defers_the_crewai_import_until_the_app_imports_it() -> None:
    env = {**os.environ, "CREWAI_DISABLE_TELEMETRY": "true", "GENOPS_LOCAL_STORE": "off"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
