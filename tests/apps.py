"""Running genops in a separate process, as an application (not a test) would."""

from __future__ import annotations

import os


def app_env(**extra: str) -> dict[str, str]:
    """This process's environment without ``OTEL_*`` / ``GENOPS_*`` settings and without
    the pytest marker (which would make genops re-raise internal errors), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GENOPS_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(extra)
    return env
