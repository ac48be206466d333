"""Rebalancing rules: schedule (every N bars, calendar), drift threshold, minimum trade
value and lot rounding, alone and inside a backtest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_backtest
from alphapulse.model.signals import Signals, Targets
from alphapulse.portfolio.rebalance import Rebalancer, period_key

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO"]


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel(
        "sp500_daily_2013_2018", SYMBOLS, start="2015-01-01", end="2016-12-31", root=shared_data
    )


class Fixed:
    """A constructor returning fixed weights (records how often it is called)."""

    def __init__(self, w: np.ndarray) -> None:
        self.w = w
        self.calls = 0

    def construct(self, signals: Signals, ctx: Context) -> Targets:
        self.calls += 1
        return Targets(np.where(np.isnan(signals.direction), np.nan, self.w * signals.direction))


def ctx_at(panel: Panel, t: int, positions: np.ndarray | None = None) -> Context:
    fields = dict(panel.fields)
    fields[PRICES] = forward_fill(panel.fields["close"])
    hist = History(fields, panel.timestamps)
    hist.advance(t + 1)
    n = panel.n_symbols
    pos = np.zeros(n) if positions is None else positions
    last = fields[PRICES][t].copy()
    eq = 1e6
    return Context(t, int(panel.timestamps[t]), panel.symbols, hist, pos, np.zeros(n), last,
                   eq - float((pos * last).sum()), eq)  # fmt: skip


def test_every_n_bars_and_signal_changes_between(panel: Panel) -> None:
    n = panel.n_symbols
    rb = Rebalancer(Fixed(np.full(n, 0.2)), every=5)
    d = np.ones(n)
    due = []
    for t in range(20):
        if t == 7:
            d = d.copy()
            d[0] = 0.0  # an exit between rebalances
        w = rb.construct(Signals(d), ctx_at(panel, t)).weights
        due.append(bool(np.isfinite(w[1])))
        if t == 7:
            assert w[0] == 0.0 and np.isnan(w[1])  # only the changed symbol
    assert due == [t % 5 == 0 for t in range(20)]


def test_calendar_month_rebalances_on_the_first_bar_of_each_month(panel: Panel) -> None:
    n = panel.n_symbols
    rb = Rebalancer(Fixed(np.full(n, 0.2)), calendar="M")
    idx = panel.index()
    hits = [
        t
        for t in range(120)
        if np.isfinite(rb.construct(Signals(np.ones(n)), ctx_at(panel, t)).weights[0])
    ]
    months = pd.Series(idx[:120].month)
    assert hits == [0, *[t for t in range(1, 120) if months[t] != months[t - 1]]]
    assert period_key(int(panel.timestamps[0]), "Q") != period_key(int(panel.timestamps[100]), "Q")


def test_drift_threshold(panel: Panel) -> None:
    n = panel.n_symbols
    t = 10
    last = forward_fill(panel["close"])[t]
    held = np.array([0.19, 0.25, 0.0, -0.2, 0.2]) * 1e6 / last  # current weights
    rb = Rebalancer(Fixed(np.full(n, 0.2)), drift_threshold=0.02)
    w = rb.construct(Signals(np.ones(n)), ctx_at(panel, t, held)).weights
    assert np.isnan(w[0])  # 0.19 vs 0.20: within the threshold, left alone
    assert w[1] == 0.2  # 0.25 vs 0.20: beyond, rebalanced
    assert w[2] == 0.2  # an entry always trades
    assert w[3] == 0.2  # a flip always trades
    assert np.isnan(w[4])


def _run(panel: Panel, portfolio: dict) -> RunResult:
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "initial_cash": 1_000_000,
            "execution": {"lot_size": 10},
            "portfolio": portfolio,
            "strategies": [{"strategy": "buy_and_hold"}],
        }
    )
    return next(iter(run_backtest(cfg, panel).values()))


def test_backtest_trades_only_on_schedule_above_min_value_in_lots(panel: Panel) -> None:
    rb = {"every": 21, "drift_threshold": 0.01, "min_trade_value": 5_000}
    r = _run(panel, {"method": "inverse_vol", "lookback": 40, "rebalance": rb})
    ts = panel.timestamps
    first = min(o.created_ns for o in r.orders)
    t0 = int(np.searchsorted(ts, first))
    px = forward_fill(panel["close"])
    for o in r.orders:
        t = int(np.searchsorted(ts, o.created_ns))
        assert (t - t0) % 21 == 0  # buy-and-hold signals never change: schedule only
        value = o.notional if o.notional is not None else o.quantity * px[t, o.sid]
        assert value >= 5_000
        if o.notional is None:
            assert o.quantity % 10 == 0  # whole lots
    assert len({o.created_ns for o in r.orders}) > 10
    # without the rules the same constructor retrades every bar its targets move
    free = _run(panel, {"method": "inverse_vol", "lookback": 40})
    assert len(free.orders) > 3 * len(r.orders)


def _synthetic(index: pd.DatetimeIndex) -> Panel:
    """One symbol with a bar at each time of ``index`` (UTC)."""
    ones = np.ones((len(index), 1))
    fields = {k: ones.copy() for k in ("open", "high", "low", "close", "volume")}
    return Panel(index.as_unit("ns").asi8, ("X",), fields)


def _rebalance_bars(panel: Panel, calendar: str, tz: str) -> list[int]:
    rb = Rebalancer(Fixed(np.ones(1)), calendar=calendar, tz=tz)
    due = [
        rb.construct(Signals(np.ones(1)), ctx_at(panel, t)).weights[0]
        for t in range(len(panel.timestamps))
    ]
    return [t for t, w in enumerate(due) if np.isfinite(w)]


@pytest.mark.parametrize("calendar", ["W", "M"])
def test_daily_bars_rebalance_by_their_session_date_in_a_session_tz(calendar: str) -> None:
    """Daily bars are session dates stamped 00:00 UTC: Monday 2024-04-01 opens a week and
    a month in New York too (read as an instant it was Sunday 20:00, March 31)."""
    dates = pd.bdate_range("2024-02-26", "2024-04-12", tz="UTC")
    period = dates.isocalendar().week.to_numpy() if calendar == "W" else dates.month
    first = [t for t in range(len(dates)) if t == 0 or period[t] != period[t - 1]]
    assert _rebalance_bars(_synthetic(dates), calendar, "America/New_York") == first


def test_intraday_bars_rebalance_by_their_local_date() -> None:
    """Hourly 24/7 bars from 00:00 UTC: a new New York day at its first bar from local
    midnight (05:00 UTC up to March 10, whose midnight is before the 02:00 DST change;
    04:00 after), and the first bar (00:00 UTC, 19:00 the day before in New York) keys
    like the bars after it."""
    idx = pd.date_range("2024-03-08", "2024-03-13", freq="1h", tz="UTC", inclusive="left")
    local = idx.tz_convert("America/New_York").date
    first = [t for t in range(len(idx)) if t == 0 or local[t] != local[t - 1]]
    bars = _rebalance_bars(_synthetic(idx), "D", "America/New_York")
    assert bars == first
    assert [idx[t].hour for t in bars[1:]] == [5, 5, 5, 4, 4]
