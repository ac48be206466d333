"""Polled feeds against a misbehaving provider: the bar grid comes from the timeframe (a
misaligned first bar is dropped, the good bars after it go through), a bar time that an
answer keeps giving twice with different values is dropped after one failed round
instead of stalling the symbol, and every bar the feed drops is a Prometheus counter of
the session (reason, symbol)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.api.metrics import Metrics
from alphapulse.config import parse_config
from alphapulse.data.providers.base import normalize_bars
from alphapulse.live import polling
from alphapulse.live.bars import OHLCV
from alphapulse.live.polling import PollingSource
from alphapulse.live.recovery import PrefixedSource
from alphapulse.live.session import run_session
from alphapulse.live.sources import build_source

from .servers import FakeBinance, recorded_klines
from .test_live_bar_hygiene import _Bars
from .test_live_feeds import HOUR_NS, MIN_NS, T0, _bar, _binance_provider, _quiet_stream
from .test_recovery_source import Live, row

SYMBOLS = ("BTC/USDT", "ETH/USDT")
DAY_NS = 24 * HOUR_NS
NOW = T0 + 25 * HOUR_NS + 5 * MIN_NS  # the recorded candles T0 .. T0+24h have closed
GRID = [T0 + i * HOUR_NS for i in range(25)]
SECOND_NS = 1_000_000_000
HALF = 30 * MIN_NS


def _candle_at(exchange: FakeBinance, ts_ns: int, like: int, **values: str) -> None:
    """Add to BTCUSDT a copy of candle ``like`` opening at ``ts_ns`` (``values``: fields
    replaced, by name), after the candles opening at or before that time."""
    candle = list(exchange.klines["BTCUSDT"][like])
    candle[0] = ts_ns // 1_000_000
    for name, value in values.items():
        candle[1 + OHLCV.index(name)] = value
    klines = exchange.klines["BTCUSDT"]
    at = sum(1 for k in klines if k[0] <= candle[0])
    klines.insert(at, candle)


def _ccxt_cfg(**paper: Any) -> Any:
    return parse_config(
        {"name": "grid", "data": {"source": "ccxt", "symbols": list(SYMBOLS)},
         "execution": {"lot_size": 0.001},
         "strategies": [{"strategy": "sma_cross", "params": {"fast": 2, "slow": 5}}],
         "paper": {"feed": "ccxt", "timeframe": "1h", "poll_interval": 0.01, **paper}}
    )  # fmt: skip


def test_ccxt_feed_drops_a_misaligned_first_candle_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the half-hour candle set BTC's grid: every real candle after it was
    rejected, and the next requests asked from the half hours, until a restart."""
    exchange = FakeBinance()
    _candle_at(exchange, T0 - 30 * MIN_NS, like=0)  # a partial candle, stamped off the hour
    monkeypatch.setattr(polling, "provider_for", lambda p: _binance_provider(exchange.server.url))
    try:
        source, symbols, _ = build_source(
            _ccxt_cfg(grace=60.0), threading.Event(), T0 - 2 * HOUR_NS
        )
        assert isinstance(source, PollingSource) and symbols == SYMBOLS
        source.clock_ns = lambda: NOW
        assert source.poll()
        rows = source.sections.ready()
    finally:
        exchange.server.stop()
    assert [r.ts_ns for r in rows] == GRID
    closes = [float(k[4]) for k in recorded_klines()]
    assert [float(r.fields["close"][0]) for r in rows] == closes
    assert (source.sections.off_grid, source.sections.invalid) == (1, 1)


@pytest.mark.parametrize(
    ("timeframe", "first", "good"),
    [
        # Yahoo's US hours start at :30; a bar stamped off the quarter hours comes first
        ("1h", T0 + 29 * MIN_NS + 53 * SECOND_NS, [T0 + i * HOUR_NS + HALF for i in (1, 2, 3)]),
        # a daily bar stamped at New York's midnight instead of its session date 00:00 UTC
        ("1d", T0 + 5 * HOUR_NS, [T0 + (i + 1) * DAY_NS for i in range(3)]),
    ],
)  # fmt: skip
def test_yahoo_grid_ignores_a_first_bar_off_its_anchor_steps(
    timeframe: str, first: int, good: list[int]
) -> None:
    bar_ns = polling.TIMEFRAME_NS[timeframe]
    source = PollingSource(
        _Bars([first, *good]), ("AAPL",), timeframe, grace=0.0,
        clock_ns=lambda: good[-1] + bar_ns + MIN_NS, since_ns=T0,
    )  # fmt: skip
    assert source.poll()
    assert [r.ts_ns for r in source.sections.ready()] == good
    assert source.sections.off_grid == 1


def test_a_conflict_kept_by_the_answer_costs_one_failed_round() -> None:
    """Before, every round failed on the same answer (with a growing backoff): BTC got
    no candle after T0 again. Asked in halves, Binance answers a one-candle request
    with one candle, so 12:00 goes through as a catching-up poll would have got it."""
    exchange = FakeBinance()
    _candle_at(exchange, T0 + 12 * HOUR_NS, like=12, volume="1.5")  # 12:00 again
    source = PollingSource(
        _binance_provider(exchange.server.url), SYMBOLS, "1h", grace=60.0,
        clock_ns=lambda: NOW, since_ns=T0,
    )  # fmt: skip
    try:
        assert not source.poll()  # the first conflicting answer: a failed round, as before
        assert source.poll()  # the same conflict again: asked in halves
        rows = source.sections.ready()
        asked = len(exchange.server.seen)
        assert source.poll()  # moved on: nothing is asked again
        assert len(exchange.server.seen) == asked
    finally:
        exchange.server.stop()
    assert [r.ts_ns for r in rows] == GRID
    closes = [float(k[4]) for k in recorded_klines()]
    assert [float(r.fields["close"][0]) for r in rows] == closes
    assert not np.isnan([r.fields["close"][1] for r in rows]).any()
    assert (source.conflicts, source.errors, source.failures) == (2, 1, 0)


class _Conflicting(_Bars):
    """Hourly bars whose every answer that covers ``twice`` gives it twice, differently."""

    def __init__(self, stamps: list[int], twice: int) -> None:
        super().__init__(stamps)
        self.twice = twice

    def fetch_bars(self, symbol: str, start: datetime, end: datetime, tf: str) -> pd.DataFrame:
        frame = super().fetch_bars(symbol, start, end, tf)
        at = pd.Timestamp(self.twice, tz="UTC")
        if at in frame.index:
            frame = pd.concat([frame, frame.loc[[at]] * 2.0])
        return normalize_bars(frame, pd.Timestamp(start), pd.Timestamp(end), "1h", source=symbol)


def test_a_bar_that_conflicts_even_alone_is_dropped_and_polling_moves_on() -> None:
    twice = GRID[5]
    provider = _Conflicting(GRID[:8], twice)
    source = PollingSource(
        provider, ("AAPL",), "1h", grace=0.0, clock_ns=lambda: GRID[8], since_ns=T0
    )
    assert not source.poll() and source.poll()
    assert [r.ts_ns for r in source.sections.ready()] == [t for t in GRID[:8] if t != twice]
    assert source.poll() and source.sections.ready() == []
    assert source._next["AAPL"] == GRID[8]


def test_dropped_bars_are_session_metrics_by_reason_and_symbol() -> None:
    exchange = FakeBinance()
    _candle_at(exchange, T0 + 2 * HOUR_NS + 30 * MIN_NS, like=2)  # off the hour grid
    _candle_at(exchange, T0 + 12 * HOUR_NS, like=12, volume="1.5")  # a conflict
    exchange.klines["ETHUSDT"][3][4] = "0"  # a close of 0: not a valid bar
    metrics = Metrics()
    stop = threading.Event()

    def source(cfg: Any, stop_: threading.Event, resume: int | None) -> Any:
        poller = PollingSource(
            _binance_provider(exchange.server.url), SYMBOLS, "1h", interval=0.01,
            grace=60.0, stop=stop_, clock_ns=lambda: NOW, since_ns=T0,
        )  # fmt: skip
        return poller, SYMBOLS, OHLCV

    try:
        result = run_session(
            _ccxt_cfg(), stop=stop, persist=False, metrics=metrics, source=source,
            on_step=lambda bar: stop.set() if bar.ts_ns == GRID[-1] else None,
        )  # fmt: skip
    finally:
        exchange.server.stop()

    def dropped(reason: str, symbol: str) -> float | None:
        labels = {"reason": reason, "symbol": symbol}
        return metrics.registry.get_sample_value("alphapulse_feed_rejections_total", labels)

    got = {(r, s): dropped(r, s) for r in ("off_grid", "conflict", "invalid") for s in SYMBOLS}
    assert got == {
        ("off_grid", "BTC/USDT"): 1.0, ("off_grid", "ETH/USDT"): None,
        ("conflict", "BTC/USDT"): 2.0, ("conflict", "ETH/USDT"): None,
        ("invalid", "BTC/USDT"): None, ("invalid", "ETH/USDT"): 1.0,
    }  # fmt: skip
    assert result.runtime.steps == len(GRID)


def test_stream_and_restart_drops_reach_the_hook() -> None:
    seen: list[tuple[str, str]] = []
    stream = _quiet_stream([T0 + 2 * MIN_NS])  # T0 + 1 min has just closed
    stream.watch_rejections(lambda reason, symbol: seen.append((reason, symbol)))
    stream._add("AAPL", T0 + 2 * MIN_NS, _bar(1.0))  # its minute has not closed
    stream._add("MSFT", T0 + 30 * SECOND_NS, _bar(1.0))
    restarted = PrefixedSource([row(MIN_NS, 1.0)], Live([row(MIN_NS, 2.0), row(2 * MIN_NS, 3.0)]))
    restarted.watch_rejections(lambda reason, symbol: seen.append((reason, symbol)))
    assert [r.ts_ns for r in restarted.rows()] == [MIN_NS, 2 * MIN_NS]
    assert seen == [("future", "AAPL"), ("off_grid", "MSFT"), ("stale", "")]
