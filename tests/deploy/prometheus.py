"""A real Prometheus (Debian's ``prometheus`` package) on a loopback port, for tests.

Started with a temp config and data dir, scraping the given targets every second and
evaluating the repo's rules file; the HTTP API is polled until it answers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.paths import REPO

RULES = REPO / "deploy" / "prometheus" / "genops-rules.yml"
RULES_TEST = REPO / "deploy" / "prometheus" / "genops-rules.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "genops-overview.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} not installed (Debian package 'prometheus'; .ci/run installs it)")
    return path


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns a truthy value (returned), else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Prometheus:
    """A running Prometheus and its HTTP API."""

    def __init__(self, tmp: Path, targets: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "prometheus.yml"
        target_list = ", ".join(f'"{t}"' for t in targets)
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}']\n"
            "scrape_configs:\n"
            "  - job_name: genops\n"
            f"    static_configs: [{{targets: [{target_list}]}}]\n"
        )
        self.process = subprocess.Popen(
            [
                require("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "prometheus.log").open("w"),
        )
        self.client = httpx.Client(base_url=self.url, timeout=10)
        wait_for(lambda: self.client.get("/-/ready").status_code == 200, "Prometheus ready")

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result vector; raises on a parse/evaluation error."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = self.client.get("/api/v1/query", params=params).json()
        assert body["status"] == "success", f"{expr}: {body.get('error')}"
        result = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)

    def label_values(self, label: str, match: str) -> list[str]:
        body = self.client.get(f"/api/v1/label/{label}/values", params={"match[]": match}).json()
        assert body["status"] == "success", body
        return list(body["data"])

    def rules(self) -> list[dict[str, Any]]:
        body = self.client.get("/api/v1/rules").json()
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def values(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    """``{label value: sample value}`` of an instant-query vector."""
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}
