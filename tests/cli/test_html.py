"""``genops report --format html`` opened in real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from genops.store import LocalStore, Query, spend
from tests.cli.conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0",
)  # fmt: skip


class Resources(HTMLParser):
    """Every URL the document would load."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "xlink:href"} and value:
                self.urls.append(value)


def test_html_is_self_contained(store, tmp_path):
    out = tmp_path / "r.html"
    assert run_cli("report", "--store", str(store), "--format", "html", "-o", str(out))[0] == 0
    html = out.read_text()
    parser = Resources()
    parser.feed(html)
    assert parser.urls == []
    assert "@import" not in html and "url(" not in html and "fetch(" not in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
def test_html_renders_in_chromium_with_charts_and_matching_totals(store, tmp_path: Path):
    out = tmp_path / "report.html"
    code, _ = run_cli("report", "--store", str(store), "--since", "1d", "--by", "team,model",
                      "--format", "html", "-o", str(out))  # fmt: skip
    assert code == 0
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "Uncaught" not in done.stderr, done.stderr[-2000:]
    # the inline script ran in the browser and found the rows add up to the total
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None and 'data-check="ok"' in body.group(1), body
    for chart in ("chart-over-time", "chart-by-model", "chart-decisions"):
        match = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S)
        assert match is not None, chart
        assert len(re.findall(r'<rect class="bar"', match.group(0))) >= 1, chart
    total = float(re.search(r'id="total-cost" data-value="([^"]+)"', dom).group(1))
    db = LocalStore(store, readonly=True)
    (expected,) = spend(db, Query.last("1d", by=()))
    db.close()
    assert abs(total - expected["cost"]) < 1e-12
    summed = float(re.search(r'data-sum="([^"]+)"', body.group(1)).group(1))
    assert abs(summed - expected["cost"]) < 1e-9
    # and the same report as a table (what a user compares it with) shows that total
    code, table = run_cli("report", "--store", str(store), "--since", "1d", "--by", "team,model")
    assert code == 0
    (row,) = [line for line in table.splitlines() if re.match(r"│ total\b", line)]
    assert row.rstrip("│ ").split("│")[-1].strip() == f"{total:.6f}"
