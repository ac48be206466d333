"""Prometheus metrics of a paper session: per-strategy counters and gauges updated each
step, served on 127.0.0.1 while the session runs (``alphapulse paper --metrics-port``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from alphapulse.api.metrics import Metrics
from alphapulse.bus import InProcessBus
from alphapulse.config import parse_config
from alphapulse.engine.bars import BarSlice
from alphapulse.live.session import run_session
from alphapulse.model.orders import OrderStatus

from .helpers import paper_cfg
from .test_paper_bus import SHORT

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_metrics_updated_each_step_and_served(shared_data: Path) -> None:
    cfg = parse_config(paper_cfg(data=SHORT))
    port, metrics = _free_port(), Metrics()
    scraped: list[str] = []

    def scrape(bar: BarSlice) -> None:
        if bar.t == 49:
            scraped.append(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)

    done = run_session(
        cfg, persist=False, bus=InProcessBus(), metrics=metrics, metrics_port=port, on_step=scrape
    )
    (mid,) = scraped
    label0 = cfg.strategies[0].label
    assert _samples(mid)[("alphapulse_bars_processed_total", (("strategy", label0),))] == 50
    value = metrics.registry.get_sample_value
    steps = done.runtime.steps
    gross_last: list[float] = []
    for label, r in done.results.items():
        s = {"strategy": label}
        assert value("alphapulse_bars_processed_total", s) == steps
        assert value("alphapulse_orders_total", s) == len(r.orders)
        assert value("alphapulse_fills_total", s) == len(r.fills) > 0
        assert (value("alphapulse_signals_total", s) or 0) > 0
        assert value("alphapulse_portfolio_value", s) == r.equity[-1]
        for side, held in (("gross", r.gross_exposure), ("net", r.net_exposure)):
            got = value("alphapulse_exposure", {**s, "side": side})
            assert got == pytest.approx(held[-1] / r.equity[-1], rel=1e-12, abs=1e-15)
        gross_last.append(value("alphapulse_exposure", {**s, "side": "gross"}) or 0.0)
        rejected = sum(o.status == OrderStatus.REJECTED for o in r.orders)
        families = text_string_to_metric_families(metrics.exposition().decode())
        counted = sum(
            x.value
            for fam in families
            for x in fam.samples
            if x.name == "alphapulse_rejections_total" and x.labels["strategy"] == label
        )
        assert counted == rejected
    assert max(gross_last) > 0  # a strategy held positions at the end
    assert value("alphapulse_decision_latency_seconds_count") == steps
    assert value("alphapulse_feed_lag_seconds") == 0.0  # a replay has no feed lag
    try:  # the server is gone with the session
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
        raise AssertionError("the metrics server outlived its session")
    except httpx.TransportError:
        pass


def test_cli_serves_metrics_until_sigterm(shared_data: Path, tmp_path: Path) -> None:
    raw = paper_cfg(data=SHORT, paper={"feed": "replay", "speed": 86_400 * 40})
    config = tmp_path / "paper.yaml"
    config.write_text(yaml.safe_dump(raw))
    port = _free_port()
    log = tmp_path / "paper.log"
    code = "from alphapulse.cli import main; main()"
    args = ["paper", str(config), "--no-persist", "--bus", "memory", "--metrics-port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "ALPHAPULSE_CODE_VERSION": "test"},
    )
    try:
        bars = 0.0
        deadline = time.monotonic() + 60
        while bars == 0 and proc.poll() is None and time.monotonic() < deadline:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            key = ("alphapulse_bars_processed_total", (("strategy", "sma_cross"),))
            bars = _samples(text).get(key, 0.0)
        assert bars > 0, log.read_text()[-3000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped" in log.read_text()
