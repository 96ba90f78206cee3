"""The offline demo, as a script: the same code as ``genops demo``.

uv run python examples/demo.py            # or: uv run genops demo
"""

from __future__ import annotations

from genops.demo import run

if __name__ == "__main__":
    run()
