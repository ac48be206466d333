"""The tearsheet and comparison open in headless Chromium with no console errors and
every chart drawn; screenshots are kept under tmp/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.analytics.report.conftest import Runs
from tests.dashboard.chromium import chromium

ARTIFACTS = Path(__file__).resolve().parents[3] / "tmp" / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open(browser, page_file: Path, shot: str) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    n_charts = page.locator("div.chart").count()
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('div.chart .js-plotly-plot')]"
        ".filter(d => d.querySelector('.main-svg') && d._fullLayout).length"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / shot))
    page.close()
    assert errors == []
    assert n_charts >= 3 and drawn == n_charts
    assert all(u.startswith("file://") for u in requests)  # no network


def test_tearsheet_renders_in_chromium(browser, runs: Runs) -> None:  # type: ignore[no-untyped-def]
    _open(browser, runs.dir("sma_cross") / "report.html", "tearsheet.png")
    assert (ARTIFACTS / "tearsheet.png").stat().st_size > 10_000


def test_comparison_renders_in_chromium(browser, runs: Runs) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from alphapulse.cli import app

    out = runs.root / "compare_browser.html"
    args = ["compare", *(str(runs.dir(x)) for x in runs.labels), "--out", str(out)]
    assert CliRunner().invoke(app, args).exit_code == 0
    _open(browser, out, "compare.png")


def test_research_report_renders_in_chromium(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.analytics.report.test_research_page import research_fixture

    research_fixture(tmp_path)
    _open(browser, tmp_path / "report.html", "research.png")
