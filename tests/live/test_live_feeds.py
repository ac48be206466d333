"""Live sources: cross-section assembly, ccxt polling against a local Binance API with
recorded candles (closed bars only, outage + backoff, grace for a lagging symbol), and
the Alpaca bar stream against a local websocket server (a disconnect mid-session)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.core.clock import WallClock
from alphapulse.core.errors import ConfigError
from alphapulse.data.providers.ccxt_client import CCXTProvider
from alphapulse.data.providers.retry import RateLimiter, RetryPolicy
from alphapulse.engine.runner import make_engine
from alphapulse.live.alpaca_stream import AlpacaStreamSource
from alphapulse.live.bars import BarRow, CrossSections
from alphapulse.live.feed import LiveFeed
from alphapulse.live.polling import PollingSource
from alphapulse.live.runtime import PaperRuntime

from .helpers import paper_cfg
from .servers import FakeAlpacaStream, FakeBinance, recorded_klines

HOUR_NS = 3_600_000_000_000
T0 = 1_704_067_200_000_000_000  # 2024-01-01 00:00 UTC
MIN_NS = 60_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _bar(price: float) -> dict[str, float]:
    return {"open": price, "high": price, "low": price, "close": price, "volume": 1.0}


def test_cross_sections_release_rules() -> None:
    clock = FakeClock()
    cs = CrossSections(("A", "B", "C"), grace=1.0, clock=clock)
    cs.add("A", 10, _bar(1.0))
    cs.add("B", 10, _bar(2.0))
    assert cs.ready() == []  # C may still come
    cs.add("C", 10, _bar(3.0))
    (row,) = cs.ready()
    assert row.ts_ns == 10 and row.fields["close"].tolist() == [1.0, 2.0, 3.0]
    cs.add("A", 20, _bar(1.1))
    clock.now = 0.5
    assert cs.ready() == []
    clock.now = 1.2  # grace over: B and C are NaN
    (row,) = cs.ready()
    assert row.ts_ns == 20 and np.isnan(row.fields["close"][1:]).all()
    assert not cs.add("B", 20, _bar(2.1)) and cs.late == 1  # too late for its row
    cs.add("A", 30, _bar(1.2))
    cs.add("B", 40, _bar(2.2))  # B skipped 30; C reports 40: nothing more comes for 30
    cs.add("C", 40, _bar(3.2))
    cs.add("A", 40, _bar(1.3))
    rows = cs.ready()
    assert [r.ts_ns for r in rows] == [30, 40]
    assert np.isnan(rows[0].fields["close"][1:]).all()
    assert not np.isnan(rows[1].fields["close"]).any()


def _binance_provider(url: str) -> CCXTProvider:
    fast = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001)
    return CCXTProvider(
        "binance", base_url=url, page_limit=10, enable_rate_limit=False,
        options={"fetchMarkets": {"types": ["spot"]}}, retry_policy=fast,
        rate_limiter=RateLimiter(1e6, 1e6), sleep=lambda s: None,
    )  # fmt: skip


def _take(rows: Iterator[BarRow], n: int, stop: threading.Event) -> list[BarRow]:
    out = []
    for row in rows:
        out.append(row)
        if len(out) == n:
            stop.set()
    return out


def test_ccxt_polling_closed_bars_outage_and_grace() -> None:
    exchange = FakeBinance(eth_lag=1)
    exchange.failures = 2  # the first poll of BTC fails twice: retries exhausted
    now = T0 + 25 * HOUR_NS + 5 * MIN_NS  # the candle that opened at T0+25h is not closed
    stop = threading.Event()
    source = PollingSource(
        _binance_provider(exchange.server.url), ("BTC/USDT", "ETH/USDT"), "1h",
        interval=0.01, grace=0.05, stop=stop, clock_ns=lambda: now, since_ns=T0,
    )  # fmt: skip
    try:
        rows = _take(source.rows(), 25, stop)
    finally:
        exchange.server.stop()
    assert source.errors == 1 and source.failures == 0  # recovered at the next poll
    assert [r.ts_ns for r in rows] == [T0 + i * HOUR_NS for i in range(25)]
    closes = [float(k[4]) for k in recorded_klines()]
    assert [r.fields["close"][0] for r in rows] == closes
    eth = [r.fields["close"][1] for r in rows[:24]]
    np.testing.assert_allclose(eth, np.array(closes[:24]) / 20)
    assert np.isnan(rows[24].fields["close"][1])  # ETH lags: released after the grace
    starts = [int(q["startTime"]) for m, p, q in exchange.server.seen if p.endswith("klines")]
    assert max(starts) <= T0 // 1_000_000 + 24 * 3_600_000  # never asks for an open candle


def test_ccxt_feed_drives_the_engine() -> None:
    exchange = FakeBinance()
    stop = threading.Event()
    source = PollingSource(
        _binance_provider(exchange.server.url), ("BTC/USDT", "ETH/USDT"), "1h",
        interval=0.01, grace=0.05, stop=stop,
        clock_ns=lambda: T0 + 25 * HOUR_NS, since_ns=T0,
    )  # fmt: skip
    cfg = parse_config(
        {"data": {"source": "ccxt", "symbols": ["BTC/USDT", "ETH/USDT"]},
         "execution": {"lot_size": 0.001},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}]}
    )  # fmt: skip
    feed = LiveFeed(source, ("BTC/USDT", "ETH/USDT"))
    engine = make_engine(cfg, cfg.strategies[0], feed.symbols, feed.history, clock=WallClock())
    runtime = PaperRuntime(
        feed, {"sma": engine}, stop=stop,
        on_step=lambda bar: stop.set() if bar.t == 24 else None,
    )  # fmt: skip
    try:
        result = runtime.run()["sma"]
    finally:
        exchange.server.stop()
    assert runtime.steps == 25 and len(result.equity) == 25
    assert len(result.orders) > 0 and len(result.fills) > 0
    # every step's decision latency is recorded (its size is the benchmarks' business: a
    # fresh clone compiles numba kernels inside the first steps)
    lat = runtime.latency.samples
    assert feed.history.n == 25 and len(lat) == 25 and all(0 < x < 60 for x in lat)


def _alpaca_bar(symbol: str, ts: int, price: float) -> dict[str, object]:
    return {"T": "b", "S": symbol, "o": price, "h": price, "l": price, "c": price, "v": 100,
            "t": ts, "n": 10, "vw": price}  # fmt: skip


@pytest.mark.parametrize("grace", [0.8])
def test_alpaca_stream_groups_bars_and_survives_a_disconnect(grace: float) -> None:
    t1, t2, t3 = (T0 + i * MIN_NS for i in range(3))
    a, m = "AAPL", "MSFT"
    server = FakeAlpacaStream(
        [
            [_alpaca_bar(a, t1, 1.0), _alpaca_bar(m, t1, 2.0), _alpaca_bar(a, t2, 1.1)],
            [_alpaca_bar(m, t2, 2.1), _alpaca_bar(a, t3, 1.2), _alpaca_bar(m, t3, 2.2)],
        ]
    )
    stop = threading.Event()
    source = AlpacaStreamSource(
        ("AAPL", "MSFT"), grace=grace, stop=stop, url=server.url, min_backoff=0.02,
        max_backoff=0.1, api_key="key", secret_key="secret",
    )  # fmt: skip
    t_start = time.monotonic()
    try:
        rows = _take(source.rows(), 3, stop)
    finally:
        source.close()
        server.stop()
    assert time.monotonic() - t_start < 10
    assert server.connections == 2  # reconnected after the server dropped the socket
    assert server.subscribed[0]["bars"] == ["AAPL", "MSFT"]
    assert [r.ts_ns for r in rows] == [t1, t2, t3]
    assert [r.fields["close"].tolist() for r in rows] == [[1.0, 2.0], [1.1, 2.1], [1.2, 2.2]]


def test_yfinance_polling_against_recorded_chart() -> None:
    """One poll of AAPL 5m bars through yfinance, redirected to recorded Yahoo answers."""
    from alphapulse.data.providers.yfinance_client import YFinanceProvider
    from tests.data.providers.conftest import RecordedServer

    yahoo = RecordedServer().load("yahoo_session", "yahoo_chart_AAPL_5m").start()
    p1, p2 = 1_704_205_800, 1_704_216_600  # the recorded request's period1/period2
    stop = threading.Event()
    provider = YFinanceProvider(
        base_url=yahoo.url, retry_policy=RetryPolicy(max_attempts=1),
        rate_limiter=RateLimiter(1e6, 1e6),
    )  # fmt: skip
    source = PollingSource(
        provider, ("AAPL",), "5m", interval=0.01, grace=0.0, stop=stop,
        clock_ns=lambda: p2 * 1_000_000_000, since_ns=p1 * 1_000_000_000,
    )  # fmt: skip
    try:
        assert source.poll()
        rows = source.sections.ready()
    finally:
        yahoo.stop()
    assert len(rows) == (p2 - p1) // 300
    assert [r.ts_ns for r in rows] == [(p1 + 300 * i) * 1_000_000_000 for i in range(len(rows))]
    assert all(np.isfinite(r.fields["close"]).all() for r in rows)


def _quiet_stream(clock_ns: list[int], heartbeat: float | None = None) -> AlpacaStreamSource:
    """A stream source with no socket (bars go straight into its queue) and a wall clock
    read from ``clock_ns[0]``."""
    source = AlpacaStreamSource(
        ("AAPL", "MSFT"), grace=60.0, heartbeat=heartbeat, api_key="k", secret_key="s",
        clock_ns=lambda: clock_ns[0],
    )  # fmt: skip
    source.stream.run = lambda: None  # type: ignore[method-assign]
    return source


def test_alpaca_stream_rejects_a_bar_whose_minute_has_not_closed() -> None:
    t1, t2, ahead = T0, T0 + MIN_NS, T0 + 24 * 60 * MIN_NS
    source = _quiet_stream([t2 + MIN_NS + 1])  # t2's minute has just closed
    for ts in (t1, ahead, t2):  # one bad stamp, a day ahead, between two real minutes
        for sym in source.symbols:
            source._queue.put((sym, ts, _bar(ts / MIN_NS)))
    rows = _take(source.rows(), 2, source.stop)
    assert [r.ts_ns for r in rows] == [t1, t2]
    assert source.future == 2 and source.sections.late == 0


def test_alpaca_stream_heartbeat_rows_only_for_closed_minutes() -> None:
    t1, t2 = T0, T0 + MIN_NS
    clock = [t1 + MIN_NS + 30 * 1_000_000_000]  # t1 has closed, t2 not yet
    source = _quiet_stream(clock, heartbeat=1e-9)  # the heartbeat fires at every check
    for sym in source.symbols:
        source._queue.put((sym, t1, _bar(1.0)))
    rows = source.rows()
    assert next(rows).ts_ns == t1
    clock[0] = t2 + MIN_NS + 30 * 1_000_000_000  # t2 has closed without bars
    empty = next(rows)
    assert empty.ts_ns == t2 and np.isnan(empty.fields["close"]).all()
    threading.Timer(0.5, source.stop.set).start()  # a few more heartbeat checks, then stop
    assert [r.ts_ns for r in rows] == []  # nothing for the minute still in progress


class _HalfHourBars:
    """A provider whose hourly bars start at :30 (as Yahoo stamps US stocks)."""

    def fetch_bars(self, symbol: str, start: datetime, end: datetime, tf: str) -> pd.DataFrame:
        first = pd.Timestamp(start).floor("1h") + pd.Timedelta(minutes=30)
        index = pd.date_range(first, end, freq="1h", inclusive="left")
        return pd.DataFrame({k: 1.0 for k in ("open", "high", "low", "close", "volume")}, index)


def test_polling_drops_a_bar_still_in_progress_and_asks_again() -> None:
    clock = [T0 + HOUR_NS + 10 * MIN_NS]  # 01:10: the 00:30 bar runs until 01:30
    source = PollingSource(
        _HalfHourBars(), ("AAPL",), "1h", grace=0.0, clock_ns=lambda: clock[0], since_ns=T0
    )
    assert source.poll() and source.sections.ready() == []
    clock[0] = T0 + HOUR_NS + 40 * MIN_NS  # 01:40: it has closed
    assert source.poll()
    assert [r.ts_ns for r in source.sections.ready()] == [T0 + 30 * MIN_NS]


def test_alpaca_feed_requires_minute_bars() -> None:
    raw = paper_cfg()
    paper = {"feed": "alpaca", "timeframe": "5m"}
    with pytest.raises(ConfigError, match=r"paper\.timeframe"):
        parse_config({**raw, "paper": paper})
    assert parse_config({**raw, "paper": {**paper, "timeframe": "1m"}}).paper is not None
