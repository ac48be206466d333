"""The dashboard in headless Chromium against a real server: log in (and a wrong token
refused), a finished run's equity chart, a paper session started from the page whose
fills and signals appear without a reload, and a disabled strategy that stops sending
orders.
Screenshots go to tmp/artifacts/. Under CI=true these run (never skip)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import AUTH, TOKEN
from tests.dashboard.server import serve

ARTIFACTS = Path(__file__).resolve().parents[2] / "tmp" / "artifacts"
WINDOW = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT"],
          "start": "2015-01-01", "end": "2015-06-30"}  # fmt: skip
FAST = {"fast": 2, "slow": 5}  # crosses often: many orders


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, id of a finished sma_cross run on WINDOW)."""
    db = tmp_path_factory.mktemp("browser") / "ui.sqlite"
    with serve(f"sqlite:///{db}", TOKEN) as base:
        body = {"name": "ui-run", "data": WINDOW,
                "strategies": [{"strategy": "sma_cross", "params": FAST}]}  # fmt: skip
        rid = httpx.post(f"{base}/runs", json=body, headers=AUTH).json()["runs"][0]["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/runs/{rid}", headers=AUTH).json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield base, rid


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    base, _ = server
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
    pg = ctx.new_page()
    pg.external = []  # requests leaving the server
    pg.on("request", lambda r: None if r.url.startswith(base) else pg.external.append(r.url))
    yield pg
    ctx.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def log_in(page: Any, token: str = TOKEN) -> None:
    page.goto("/")
    assert page.url.endswith("/login")
    page.fill("#token", token)
    page.click("#login button")


def test_login_refuses_a_wrong_token_then_accepts_the_right_one(page) -> None:  # type: ignore[no-untyped-def]
    log_in(page, "wrong-" + TOKEN)
    assert page.locator("#login-error").inner_text() == "Wrong token."
    shot(page, "dashboard_login_refused.png")
    log_in(page)
    page.wait_for_selector("h1:has-text('Overview')")
    cookie = next(c for c in page.context.cookies() if c["name"] == "alphapulse_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    shot(page, "dashboard_overview.png")
    assert page.external == []


def test_finished_run_shows_its_equity_chart(page, server) -> None:  # type: ignore[no-untyped-def]
    _, rid = server
    log_in(page)
    page.goto("/ui/runs")
    page.click("#runs a:has-text('ui-run/sma_cross')")
    page.wait_for_selector("#equity-chart .main-svg")
    points = page.evaluate("() => document.getElementById('equity-chart').data[0].y.length")
    assert points > 100
    assert page.evaluate("() => document.getElementById('drawdown-chart').data[0].y.length") > 100
    assert page.locator("#fills tbody tr").count() > 5
    shot(page, "dashboard_run.png")
    assert page.external == [] and rid in page.url


def _start(page: Any, name: str, speed: float, end: str = WINDOW["end"]) -> None:
    page.goto("/")
    page.fill("input[name=name]", name)
    page.fill("input[name=start]", WINDOW["start"])
    page.fill("input[name=end]", end)
    page.fill("input[name=params]", '{"fast": 2, "slow": 5}')
    page.fill("input[name=speed]", str(speed))
    page.click("#start-session button")
    page.wait_for_url(f"**/ui/sessions/{name}", timeout=10_000)


def _rows_appear(page: Any, table: str) -> None:
    page.wait_for_function(f"() => document.querySelectorAll('#{table} tbody tr td:not(.empty)')"
                           ".length > 0", timeout=15_000)  # fmt: skip


def test_paper_session_fill_and_signal_appear_without_reload(page, server) -> None:  # type: ignore[no-untyped-def]
    log_in(page)
    _start(page, "ui-live", speed=86400 / 0.2)  # a calendar day every 0.2 s
    page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page reloads
    assert page.locator("#signals td:not(.empty)").count() == 0  # nothing at the first bar
    _rows_appear(page, "signals")
    _rows_appear(page, "fills")
    assert page.evaluate("() => window.loadedOnce === true")
    assert int(page.evaluate("() => document.body.dataset.updates")) > 0
    signal = page.locator("#signals tbody tr").first.inner_text()
    assert "paper:ui-live:sma_cross" in signal and "direction" in signal
    shot(page, "dashboard_live.png")
    page.click("#stop-session button")
    page.wait_for_selector("#session-status:has-text('stopped')")
    assert page.external == []


def test_disabled_strategy_stops_sending_orders(page, server) -> None:  # type: ignore[no-untyped-def]
    base, ref_id = server
    log_in(page)
    other = page.context.new_page()  # the switch page, open before the session starts
    other.goto("/ui/strategies")
    _start(page, "ui-switch", speed=86400 / 0.05)  # a calendar day every 0.05 s
    rid = "paper:ui-switch:sma_cross"
    _rows_appear(page, "fills")
    other.click("#strategy-sma_cross button:has-text('Disable')")
    other.wait_for_selector("#strategy-sma_cross .state:has-text('disabled')")
    at = httpx.get(f"{base}/sessions/ui-switch", headers=AUTH).json()["steps"]
    page.wait_for_function(  # 45 more bars (the window has ~125), then stop it
        f"() => Number(document.getElementById('session-steps').textContent) >= {at + 45}",
        timeout=30_000,
    )
    shot(page, "dashboard_disabled.png")
    page.click("#stop-session button")
    page.wait_for_function("() => document.getElementById('session-status').textContent"
                           " !== 'running'", timeout=15_000)  # fmt: skip
    other.click("#strategy-sma_cross button:has-text('Enable')")
    last = httpx.get(f"{base}/sessions/ui-switch", headers=AUTH).json()["steps"]
    assert last - at >= 45  # the session ran on after the switch

    def orders(run_id: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{base}/runs/{run_id}/orders?limit=1000", headers=AUTH).json()
        return list(r["items"])

    bars = httpx.get(f"{base}/runs/{ref_id}/portfolio?limit=1000", headers=AUTH).json()["items"]
    cutoff = bars[at + 20]["ts"]  # the switch is read every second: ~14 bars at this pace
    upto = bars[last - 1]["ts"]
    assert [o for o in orders(ref_id) if cutoff < o["created_ts"] <= upto]  # enabled: trades
    assert [o for o in orders(rid) if o["created_ts"] > cutoff] == []
    assert orders(rid)  # it did trade before the switch
