"""Dashboard speed: time to first byte of every page with 200 runs in the database
(median of 20 wall-clock requests, and the CPU ms one request costs the process, which
runs both the server and the client), and the delay from a paper fill being committed
to the database to that fill on screen (headless Chromium, the session page's server-sent
events). Prints the load average next to the figures.

    .venv/bin/python benchmarks/bench_dashboard.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.api.conftest import AUTH, TOKEN
from tests.dashboard.server import serve

WINDOW = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT"],
          "start": "2015-01-01", "end": "2015-12-31"}  # fmt: skip
N_RUNS = 200


def seed(base: str) -> str:
    """One real backtest, then 199 copies of its run row (same outputs)."""
    body = {"name": "bench", "data": WINDOW, "strategies": [{"strategy": "sma_cross"}]}
    rid = httpx.post(f"{base}/runs", json=body, headers=AUTH).json()["runs"][0]["id"]
    while httpx.get(f"{base}/runs/{rid}", headers=AUTH).json()["status"] == "running":
        time.sleep(0.1)
    return rid


def copy_runs(db: Path, rid: str) -> None:
    from alphapulse.store import open_store

    with open_store(f"sqlite:///{db}") as store:
        run = store.read_run(rid)
        assert run is not None
        for i in range(N_RUNS - 1):
            new = store.record_run(f"bench-{i}/sma_cross", run["config"], status="running")
            store.finish_run(new, status="finished", metrics=run["metrics"])


def first_byte(client: httpx.Client, path: str, n: int = 20) -> tuple[float, float, float]:
    """Median and max ms from request to the first byte of the body, and CPU ms per
    request (server and client: one process)."""
    out = []
    cpu = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        with client.stream("GET", path) as r:
            next(r.iter_raw())
            out.append((time.perf_counter() - t0) * 1e3)
            assert r.status_code == 200, path
    return statistics.median(out), max(out), (time.process_time() - cpu) * 1e3 / n


def live_latency(base: str, db: Path) -> list[float]:
    """ms from a fill being committed (seen by a 5 ms poll of the database) to the first
    screen update showing it as the newest fill (its time in the fills table's first row)."""
    from playwright.sync_api import sync_playwright
    from sqlalchemy import create_engine, func, select

    from alphapulse.api.queries import json_value
    from alphapulse.store.schema import TABLES

    fills = TABLES["fills"]
    engine = create_engine(f"sqlite:///{db}")
    seen: list[tuple[str, float]] = []  # (newest fill time, wall ms it was first seen)
    done = threading.Event()

    def watch() -> None:
        last = None
        newest = select(func.max(fills.c.ts)).where(fills.c.run_id.like("paper:%"))
        while not done.is_set():
            with engine.connect() as conn:
                ts = conn.execute(newest).scalar()
            if ts is not None and ts != last:
                seen.append((json_value("ts", int(ts)), time.time() * 1e3))
                last = ts
            time.sleep(0.005)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(base_url=base)
        page.goto("/login")
        page.fill("#token", TOKEN)
        page.click("#login button")
        threading.Thread(target=watch, daemon=True).start()
        page.fill("input[name=name]", "bench-live")
        page.fill("input[name=start]", WINDOW["start"])
        page.fill("input[name=end]", "2015-06-30")
        page.fill("input[name=params]", '{"fast": 2, "slow": 5}')
        page.fill("input[name=speed]", str(86400 / 0.3))
        page.click("#start-session button")
        page.wait_for_url("**/ui/sessions/bench-live")
        page.evaluate("""() => (window.shown = {}) && new MutationObserver(() => {
            const cell = document.querySelector('#fills tbody tr td:nth-child(2)');
            if (cell && !(cell.textContent in window.shown))
              window.shown[cell.textContent] = Date.now();
          }).observe(document.getElementById('live'), {childList: true, subtree: true})""")
        page.wait_for_selector("#session-status:has-text('finished')", timeout=120_000)
        shown: dict[str, float] = page.evaluate("() => window.shown")
        browser.close()
    done.set()
    engine.dispose()
    return [shown[ts] - t for ts, t in seen if ts in shown]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        with serve(f"sqlite:///{db}", TOKEN) as base:
            rid = seed(base)
            copy_runs(db, rid)
            print(load())
            lat = live_latency(base, db)  # leaves the finished session bench-live
            if lat:
                print(f"live update after a fill: median {statistics.median(lat):.0f} ms, "
                      f"max {max(lat):.0f} ms over {len(lat)} fills; {load()}")  # fmt: skip
            with httpx.Client(base_url=base, headers=AUTH) as client:
                pages = ["/login", "/", "/ui/runs", f"/ui/runs/{rid}", f"/ui/compare?ids={rid}",
                         "/ui/sessions/bench-live", "/ui/strategies", "/ui/models", "/ui/data",
                         "/docs"]  # fmt: skip
                for path in pages:
                    med, worst, cpu = first_byte(client, path)
                    print(
                        f"first byte {path:<40} median {med:6.1f} ms, max {worst:6.1f} ms, "
                        f"CPU {cpu:5.1f} ms/request"
                    )
            print(load())


if __name__ == "__main__":
    main()
