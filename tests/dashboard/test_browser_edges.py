"""The dashboard and its tearsheets in headless Chromium over edge-case runs: no trades,
one bar, equity through zero, undefined metrics, hostile and 200-character names, 1,000
symbols, a run still running with no outputs and a failed one whose error holds HTML.
Every page loads without a script error, an executed injection or a NaN/undefined shown;
a chart is drawn or a note says why not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.store import Store, open_store
from tests.api.conftest import TOKEN
from tests.dashboard.server import serve

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
HOSTILE = f"Stratégie «ü» \"dq\" 'sq' 日本 {XSS}"
LONG = "L" * 200
YEAR = pd.date_range("2015-01-02", periods=250, freq="B", tz="UTC")
SHOWN_MISSING = re.compile(r"\b(nan|NaN|undefined|Infinity)\b")


def _record(store: Store, rid: str, name: str, equity: Any, **metrics: Any) -> None:
    """A finished run ``rid`` with equity snapshots on YEAR and one fill per symbol."""
    eq = np.asarray(equity, dtype=float)
    ts = YEAR[: len(eq)]
    snaps = pd.DataFrame({"timestamp": ts, "cash": eq, "equity": eq, "gross_exposure": eq / 2})
    symbols = metrics.pop("symbols", ["AAPL"])
    fills = pd.DataFrame({"order_id": range(1, len(symbols) + 1), "symbol": symbols,
                          "timestamp": ts[0], "side": "buy", "quantity": 1.0,
                          "price": 10.0})  # fmt: skip
    store.record_run(name, {}, run_id=rid, initial_cash=float(eq[0]))
    store.write_run_outputs(rid, None, fills if metrics.get("n_trades") else None, None, snaps)
    store.finish_run(rid, metrics={"strategy": name, "initial_cash": float(eq[0]), **metrics})


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a server whose store holds the edge-case runs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('edges') / 'edges.sqlite'}"
    walk = 1e5 * np.cumprod(1 + np.random.default_rng(0).normal(0, 0.01, len(YEAR)))
    with open_store(url) as store:
        _record(store, "walk", "walk", walk, n_trades=1, sharpe=0.4)
        _record(store, "flat", "no-trades", np.full(len(YEAR), 1e5), n_trades=0, sharpe=None)
        _record(store, "onebar", "one-bar", [1e5], n_trades=0)
        _record(store, "bust", "bust", np.linspace(1e5, -2e4, len(YEAR)), n_trades=1)
        _record(store, "undef", "odd-metrics", walk, total_return=float("nan"),
                cagr=float("inf"), sharpe=None, max_drawdown=float("-inf"))  # fmt: skip
        _record(store, "hostile", HOSTILE, walk, n_trades=1)
        _record(store, "long", LONG, walk, n_trades=1)
        symbols = [f"S{i:04d}" for i in range(1000)]
        _record(store, "wide", "wide", walk * 100, n_trades=1000, symbols=symbols)
        store.record_run("still-running", {}, run_id="running")
        store.record_run("failed-run", {}, run_id="failed")
        store.finish_run("failed", status="failed", metrics={"error": f"boom <b>x</b> {XSS}"})
    with serve(url, TOKEN) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def page(browser, base):  # type: ignore[no-untyped-def]
    """One logged-in page for the module, recording script errors and dialogs."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    pg = ctx.new_page()
    pg.problems = []
    pg.on("pageerror", lambda e: pg.problems.append(f"uncaught: {e}"))
    pg.on("dialog", lambda d: (pg.problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.goto("/login")
    pg.wait_for_load_state("networkidle")
    assert pg.problems == []  # a fresh browser asks for /favicon.ico unless a page names one
    pg.fill("#token", TOKEN)
    pg.click("#login button")
    pg.wait_for_selector("h1:has-text('Overview')")
    yield pg
    ctx.close()


def visit(page: Any, url: str, status: int = 200) -> str:
    """Open ``url``; its text, after checking status, script errors and missing numbers."""
    page.problems.clear()
    response = page.goto(url)
    assert response.status == status, url
    page.wait_for_load_state("networkidle")  # every request settled (e.g. a favicon)
    if status != 200:  # the document's own status is logged as a failed resource
        page.problems[:] = [p for p in page.problems if f"status of {status}" not in p]
    assert page.problems == [], url
    text: str = page.inner_text("body")
    assert not SHOWN_MISSING.findall(text), url
    return text


def plots(page: Any) -> list[dict[str, Any]]:
    """Every drawn plotly chart: its plot-area size and per-trace point count and mode."""
    return list(
        page.evaluate(
            "() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({"
            "w: d._fullLayout._size.w, h: d._fullLayout._size.h, width: d._fullLayout.width,"
            "traces: d._fullData.map(t => ({n: t._length, mode: t.mode || ''}))}))"
        )
    )


IDS = ("walk", "flat", "onebar", "bust", "undef", "hostile", "long", "wide")


def test_every_page_loads_clean_over_the_edge_runs(page) -> None:  # type: ignore[no-untyped-def]
    for url in ("/", "/ui/runs", "/ui/runs?status=failed", "/ui/runs?name=%3Cscript",
                "/ui/strategies", "/ui/data", "/ui/models",
                "/ui/compare?ids=walk&ids=flat",
                "/ui/compare?ids=onebar&ids=bust&ids=undef&ids=running&ids=failed"):  # fmt: skip
        visit(page, url)
    for rid in IDS:
        visit(page, f"/ui/runs/{rid}")
        assert plots(page) and all(t["n"] for p in plots(page) for t in p["traces"]), rid
        visit(page, f"/ui/runs/{rid}/tearsheet")
        assert len(plots(page)) >= 5, rid
    assert HOSTILE in visit(page, "/ui/runs/hostile")  # shown as text, never run
    assert page.locator("#fills tbody tr").count() == 1
    visit(page, "/ui/runs/wide")
    assert page.locator("#fills tbody tr").count() == 200  # the table's first page


def test_failed_and_running_runs_say_what_they_lack(page) -> None:  # type: ignore[no-untyped-def]
    text = visit(page, "/ui/runs/failed")
    error = page.locator("#run-error").all_inner_texts()
    assert error == [f"boom <b>x</b> {XSS}"]  # shown, escaped: text, not markup
    assert "No equity recorded:" in text and plots(page) == []
    assert page.locator("#tearsheet-link").count() == 0  # it would only answer 404
    assert "No equity recorded yet:" in visit(page, "/ui/runs/running")
    for url in ("/ui/runs/nope", "/ui/runs/running/tearsheet", "/ui/sessions/nope"):
        visit(page, url, 404)
        assert page.locator("main h1").all_inner_texts() == ["Not found"], url  # not JSON
    assert "No runs to compare" in visit(page, "/ui/compare?ids=nope")
    text = visit(page, "/ui/compare?ids=walk&ids=failed")
    assert "No equity recorded for failed-run." in text


def test_a_long_name_leaves_the_charts_their_width(page) -> None:  # type: ignore[no-untyped-def]
    visit(page, "/ui/compare?ids=hostile&ids=long&ids=wide")
    (chart,) = plots(page)
    assert chart["w"] > chart["width"] / 2  # the legend takes less than half
    visit(page, "/ui/runs")
    cell = page.locator("#runs td.name").nth(0).bounding_box()
    assert cell is not None and cell["width"] < 640


def test_tearsheet_of_a_short_run_draws_what_it_can(page) -> None:  # type: ignore[no-untyped-def]
    visit(page, "/ui/runs/walk/tearsheet")
    heatmap = plots(page)[2]  # one calendar year: one row of months
    assert heatmap["h"] >= 28  # a readable row (the page's cells are 28 px per year)
    text = visit(page, "/ui/runs/onebar/tearsheet")
    equity = plots(page)[0]["traces"][0]
    assert equity["n"] == 1 and "markers" in equity["mode"]  # a lone point is visible
    assert "Rolling Sharpe (2 bars): no value" in text and "No drawdowns." in text
    assert "Rolling Sharpe (62 bars): no value" in visit(page, "/ui/runs/flat/tearsheet")
