"""Prometheus metrics: the per-app registry, the Metrics API and HTTP instrumentation."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from alphapulse.api import Metrics

from .conftest import AUTH, TINY_RUN, wait_finished


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_api_on_own_registry() -> None:
    a, b = Metrics(), Metrics()  # no clash: each has its own registry
    a.bar_processed("s1", 3)
    a.signal("s1")
    a.order("s1", 2)
    a.fill("s1")
    a.rejection("s1", "max_position")
    a.portfolio_value("s1", 1234.5)
    a.decision_latency(0.002)
    a.feed_lag(1.5)
    got = samples(a.exposition().decode())
    assert got[("alphapulse_bars_processed_total", (("strategy", "s1"),))] == 3
    assert got[("alphapulse_signals_total", (("strategy", "s1"),))] == 1
    assert got[("alphapulse_orders_total", (("strategy", "s1"),))] == 2
    assert got[("alphapulse_fills_total", (("strategy", "s1"),))] == 1
    key = ("alphapulse_rejections_total", (("reason", "max_position"), ("strategy", "s1")))
    assert got[key] == 1
    assert got[("alphapulse_portfolio_value", (("strategy", "s1"),))] == 1234.5
    assert got[("alphapulse_decision_latency_seconds_count", ())] == 1
    assert got[("alphapulse_feed_lag_seconds", ())] == 1.5
    assert ("alphapulse_bars_processed_total", (("strategy", "s1"),)) not in samples(
        b.exposition().decode()
    )


def test_metrics_endpoint_after_a_backtest(client: TestClient, shared_data: Path) -> None:
    res = client.post("/runs", json=TINY_RUN, headers=AUTH)
    ids = [r["id"] for r in res.json()["runs"]]
    assert wait_finished(client, ids) == ["finished", "finished"]
    summary = client.get(f"/runs/{ids[0]}/summary", headers=AUTH).json()["metrics"]
    client.get("/runs/unknown", headers=AUTH)
    client.get("/no/such/path", headers=AUTH)
    client.get("/no/such/path")  # refused by the guard before routing
    res = client.get("/metrics", headers=AUTH)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    got = samples(res.text)
    fast = (("strategy", "sma_fast"),)
    assert got[("alphapulse_bars_processed_total", fast)] == 252
    assert got[("alphapulse_orders_total", fast)] == summary["n_orders"]
    assert got[("alphapulse_fills_total", fast)] == summary["n_fills"]
    assert got[("alphapulse_portfolio_value", fast)] == summary["final_equity"]
    assert got[("alphapulse_backtests_total", (("status", "finished"),))] == 1
    assert got[("alphapulse_backtests_running", ())] == 0
    http = "alphapulse_http_requests_total"
    route = (("method", "GET"), ("route", "/runs/{run_id}"), ("status", "404"))
    assert got[(http, route)] == 1
    assert got[(http, (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))] == 1
    assert got[(http, (("method", "GET"), ("route", "<unmatched>"), ("status", "401")))] == 1
    assert got[(http, (("method", "POST"), ("route", "/runs"), ("status", "202")))] == 1
