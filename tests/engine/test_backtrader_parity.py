"""SMA crossover must reproduce backtrader's fills and final equity exactly.

Semantics (both sides): signal at bar t from SMAs of closes up to t; buy when fast > slow at
t and fast <= slow at t-1 (ties within indicators.TIE_TOL count as equal); sell on the
opposite cross; market orders fill at bar t+1's open; buy size = all_in at the fill price
(commission included); sell the whole position; commission = rate x price x shares; no
slippage; an open position at the end counts in final equity.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg", force=True)
import backtrader as bt

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.engine.runner import run_backtest
from alphapulse.strategies.indicators import TIE_TOL

RATE = 0.001
CASH = 100_000.0


def _state(a: float, b: float) -> int:
    d = a - b
    tol = TIE_TOL * max(abs(a), abs(b))
    return 1 if d > tol else (-1 if d < -tol else 0)


class BtSmaCross(bt.Strategy):  # type: ignore[misc]
    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        self.f = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.s = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.pending = 0
        self.executions: list[tuple[pd.Timestamp, float, float, float]] = []

    def next(self) -> None:
        if len(self) < self.p.slow + 1:
            return
        now, prev = _state(self.f[0], self.s[0]), _state(self.f[-1], self.s[-1])
        if now > 0 and prev <= 0:
            self.pending = 1
        elif now < 0 and prev >= 0:
            self.pending = -1

    def next_open(self) -> None:
        if self.pending == 1 and not self.position:
            price, cash = self.data.open[0], self.broker.getcash()
            size = math.floor(cash / (price * (1 + RATE)))
            while size > 0 and size * price * (1 + RATE) > cash:
                size -= 1
            if size > 0:
                self.buy(size=size)
        elif self.pending == -1 and self.position:
            self.close()
        self.pending = 0

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            ex = order.executed
            when = pd.Timestamp(bt.num2date(ex.dt)).normalize()
            self.executions.append((when, ex.size, ex.price, ex.comm))


def run_backtrader(df: pd.DataFrame, fast: int, slow: int) -> tuple[list, float]:
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
    cerebro.broker.set_coo(True)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=RATE, percabs=True)
    feed = df[["open", "high", "low", "close", "volume"]].copy()
    feed.index = feed.index.tz_localize(None)
    cerebro.adddata(bt.feeds.PandasData(dataname=feed))
    cerebro.addstrategy(BtSmaCross, fast=fast, slow=slow)
    strat = cerebro.run()[0]
    return strat.executions, cerebro.broker.getvalue()


@pytest.mark.parametrize(
    ("symbol", "fast", "slow"),
    [("AAPL", 10, 30), ("MSFT", 10, 30), ("XOM", 20, 50), ("JPM", 5, 20)],
)
def test_sma_cross_matches_backtrader(shared_data: Path, symbol: str, fast: int, slow: int) -> None:
    panel = load_panel("sp500_daily_2013_2018", [symbol], root=shared_data)
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": [symbol]},
            "initial_cash": CASH,
            "execution": {
                "commission": {"model": "percent", "rate": RATE},
                "slippage": {"model": "none"},
            },
            "strategies": [{"strategy": "sma_cross", "params": {"fast": fast, "slow": slow}}],
        }
    )
    ours = run_backtest(cfg, panel)["sma_cross"]
    bt_exec, bt_value = run_backtrader(panel.frame(symbol), fast, slow)

    assert len(ours.fills) == len(bt_exec) >= 4
    for f, (when, size, price, comm) in zip(ours.fills, bt_exec, strict=True):
        assert pd.Timestamp(f.ts_ns, unit="ns", tz="UTC").tz_localize(None) == when
        assert f.signed_qty == pytest.approx(size, abs=0)
        assert f.price == pytest.approx(price, rel=1e-12)
        assert f.fee == pytest.approx(comm, rel=1e-9)
    assert ours.equity[-1] == pytest.approx(bt_value, rel=1e-9)
    assert np.all(np.isfinite(ours.equity))
