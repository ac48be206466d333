"""The numbers a run reports (summary.json, its robustness block, the database) against a
plain pandas reference recomputed from the run's own equity curve and fills, on real
daily, 24/7 hourly and sparse 1-minute data, and the cases where counting is a choice:
positions still open at the end, flat warmup bars, ruin (equity below zero)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.bootstrap import cagr_rows, max_drawdown_rows
from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.analytics.report.loader import load_run
from alphapulse.analytics.report.stats import worst_drawdowns
from alphapulse.analytics.robustness import trade_order_drawdowns
from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.runner import run_backtest
from alphapulse.ml.report import window_metrics
from alphapulse.model.orders import Fill

SCRIPTED = "tests.engine.strategies_for_tests:Scripted"
RANDOM = "tests.engine.strategies_for_tests:RandomSignals"
COSTS = {
    "allow_short": True,
    "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
    "slippage": {"model": "fixed_bps", "bps": 5},
}


def _runs(panel: Panel, strategies: list[dict[str, Any]]) -> dict[str, RunResult]:
    cfg = {
        "data": {"source": "x"},
        "initial_cash": 100_000.0,
        "execution": COSTS,
        "strategies": strategies,
    }
    return run_backtest(parse_config(cfg), panel, workers=1)


def _cycles(fills: list[Fill]) -> list[float]:
    """Cash P&L (net of fees) of every flat-to-flat position, by cash flows: no lots."""
    out: list[float] = []
    for symbol in sorted({f.symbol for f in fills}):
        pos = cash = 0.0
        for f in sorted((f for f in fills if f.symbol == symbol), key=lambda f: f.ts_ns):
            side, qty = int(f.side), f.quantity
            closing = min(qty, abs(pos)) if pos * side < 0 else 0.0
            share = closing / qty
            cash -= side * closing * f.price + f.fee * share
            pos += side * closing
            if closing and abs(pos) <= 1e-9 * qty:
                out.append(cash)
                pos = cash = 0.0
            if qty - closing > 1e-9 * qty:  # opens (or adds to, or flips into) a position
                cash -= side * (qty - closing) * f.price + f.fee * (1.0 - share)
                pos += side * (qty - closing)
    return out


def _reference(r: RunResult, ppy: float) -> dict[str, float | int | None]:
    """The summary's numbers, straight from the equity curve and fills."""
    eq = pd.Series(r.equity, index=pd.to_datetime(r.timestamps, unit="ns", utc=True))
    years = (eq.index[-1] - eq.index[0]).total_seconds() / 86_400 / 365.25
    ret = eq.pct_change().iloc[1:]  # every bar, flat warmup bars included
    mean, std = ret.mean(), ret.std(ddof=1)
    dd = eq / eq.cummax() - 1.0
    pnl = np.array(_cycles(r.fills))
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    notional = sum(abs(f.quantity * f.price) for f in r.fills)
    cagr = (eq.iloc[-1] / r.initial_cash) ** (1.0 / years) - 1.0
    return {
        "total_return": eq.iloc[-1] / r.initial_cash - 1.0,
        "cagr": cagr,
        "volatility": std * math.sqrt(ppy),
        "sharpe": mean / std * math.sqrt(ppy),
        "sortino": mean / math.sqrt((ret.clip(upper=0.0) ** 2).mean()) * math.sqrt(ppy),
        "max_drawdown": dd.min(),
        "calmar": cagr / -dd.min(),
        "turnover": notional / eq.mean() / years,
        "exposure": float(np.mean(r.gross_exposure / r.equity)),
        "total_fees": sum(f.fee for f in r.fills),
        "n_trades": len(pnl),
        "win_rate": len(wins) / (len(wins) + len(losses)) if len(pnl) else None,
        "profit_factor": wins.sum() / -losses.sum() if len(losses) else None,
        "expectancy": pnl.mean() if len(pnl) else None,
        "final_equity": eq.iloc[-1],
    }


def _check(summary: dict[str, Any], r: RunResult, ppy: float) -> None:
    assert summary["periods_per_year"] == pytest.approx(ppy, rel=1e-12)
    for key, want in _reference(r, ppy).items():
        got = summary[key]
        if want is None:
            assert got is None, key
        else:
            assert got == pytest.approx(float(want), rel=1e-9, abs=1e-9), key


def _cash_from_fills(r: RunResult) -> float:
    """The cash the fills leave: every trade's notional and fee paid out of it."""
    flows = sum(-int(f.side) * f.quantity * f.price - f.fee for f in r.fills)
    return r.initial_cash + flows


@pytest.fixture(scope="module")
def daily(shared_data: Path) -> Panel:
    return load_panel(
        "sp500_daily_2013_2018", ["AAPL", "MSFT", "XOM"], root=shared_data, end="2014-12-31"
    )


def test_daily_run_numbers_equal_the_reference_in_every_place(daily: Panel, tmp_path: Path) -> None:
    """Real daily equities, long and short, after costs; summary.json, the returned dict
    and the database hold the same numbers; the fees the equity paid are the fills'."""
    from alphapulse.engine.recording import record_run
    from alphapulse.store import open_store

    strategies = [
        {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}},  # 20 flat warmup bars
        {"strategy": RANDOM, "params": {"seed": 3, "short": True}, "name": "random"},
    ]
    results = _runs(daily, strategies)
    cfg = parse_config({"data": {"source": "x"}, "execution": COSTS, "strategies": strategies})
    with open_store(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        for label, r in results.items():
            s = write_outputs(r, tmp_path / label)
            assert r.total_fees > 0 and any(f.side < 0 for f in r.fills)
            _check(s, r, 252.0)
            assert r.cash[-1] == pytest.approx(_cash_from_fills(r), rel=1e-12)
            assert json.loads((tmp_path / label / "summary.json").read_text()) == s
            stored = store.read_run(record_run(store, cfg, label, r, s, "digest"))
            assert stored is not None and stored["metrics"] == s


def test_crypto_hourly_is_annualised_with_8760_bars(shared_data: Path, tmp_path: Path) -> None:
    """Two whole months of BTC/ETH hours (24 bars on each of 60 days): 24 x 365 bars a
    year. The day boundary was put half an hour after midnight, so each 00:00 bar was a
    day of its own: 1,440 bars over 61 'days', 8,616 a year, Sharpe 0.8% low."""
    panel = load_panel(
        "crypto_binance_1h",
        root=shared_data,
        start="2019-01-01",
        end="2019-03-01",
        policy="quarantine",
    )
    assert panel.n_bars == 60 * 24
    index = pd.DatetimeIndex(pd.to_datetime(panel.timestamps, unit="ns", utc=True))
    assert observed_periods_per_year(index) == 24 * 365
    (r,) = _runs(panel, [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}]).values()
    _check(write_outputs(r, tmp_path), r, 24 * 365)


def test_sparse_minutes_match_the_reference(shared_data: Path, tmp_path: Path) -> None:
    """Sparse 1-minute bars (no bar in a minute without trades): annualised with the
    bars present per day x 252, every other number as the reference."""
    panel = load_panel(
        "intraday_1min_2024",
        ["BKNG", "FDS"],
        root=shared_data,
        start="2024-03-04",
        end="2024-03-08",
    )
    index = pd.DatetimeIndex(pd.to_datetime(panel.timestamps, unit="ns", utc=True))
    days = index.tz_convert("America/New_York").normalize().nunique()
    assert days == 5 and panel.n_bars < 5 * 390  # sparse
    (r,) = _runs(panel, [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}]).values()
    _check(write_outputs(r, tmp_path), r, panel.n_bars / days * 252)


def test_a_position_open_at_the_end_is_not_a_trade(daily: Panel, tmp_path: Path) -> None:
    """AAPL bought, half sold, the rest held to the end; MSFT bought and sold. Only MSFT
    is a trade (flat to flat): AAPL's partial exit was counted as a whole winning trade."""
    moves = {5: [1.0, 1.0, None], 60: [0.5, 0.0, None]}
    (r,) = _runs(daily, [{"strategy": SCRIPTED, "params": {"directions": moves}}]).values()
    s = write_outputs(r, tmp_path)
    trades = pd.read_csv(tmp_path / "trades.csv")
    assert sorted(trades["symbol"]) == ["AAPL", "MSFT"]  # the partial exit is a round trip
    assert r.final_positions[0] > 0  # AAPL still held
    (msft,) = _cycles([f for f in r.fills if f.symbol == "MSFT"])
    assert _cycles(r.fills) == [msft]
    assert s["n_trades"] == 1
    assert s["expectancy"] == pytest.approx(msft, rel=1e-12)
    _check(s, r, 252.0)
    fold = window_metrics(r, 1, len(r.timestamps), 252.0)  # research's per-fold metrics
    assert fold["n_trades"] == 1 and fold["hit_rate"] == s["win_rate"]


def _squeeze() -> Panel:
    """A stock that goes from 100 to 1,200: a short of the whole capital loses 11x it."""
    close = np.concatenate(
        [np.full(10, 100.0), np.linspace(100.0, 1200.0, 20), np.full(10, 1200.0)]
    )
    ts = pd.date_range("2020-01-01", periods=len(close), freq="B", tz="UTC").as_unit("ns").asi8
    col = close.reshape(-1, 1)
    fields = {"open": col, "high": col, "low": col, "close": col}
    return Panel(ts, ("X",), {**fields, "volume": np.full_like(col, 1e7)})


def test_ruin_is_a_drawdown_of_minus_one_everywhere(tmp_path: Path) -> None:
    """Equity from +100,000 to about -1,000,000: the summary said max_drawdown -11.0 and
    cagr null, its bootstrap estimate -1.16 and cagr -1.0. Both now say ruin: -1.0."""
    moves = {2: [-1.0]}
    (r,) = _runs(_squeeze(), [{"strategy": SCRIPTED, "params": {"directions": moves}}]).values()
    assert r.equity[-1] < -5 * r.initial_cash
    s = write_outputs(r, tmp_path)
    boot = s["robustness"]["bootstrap"]
    assert s["max_drawdown"] == boot["max_drawdown"]["estimate"] == -1.0
    assert s["cagr"] == boot["cagr"]["estimate"] == -1.0
    assert s["total_return"] == pytest.approx(r.equity[-1] / r.initial_cash - 1.0)  # the loss
    assert s["calmar"] == -1.0
    assert worst_drawdowns(load_run(tmp_path).equity_series)["depth"].min() == -1.0


def test_bootstrap_paths_stay_ruined() -> None:
    """A resample that draws a -300% return twice was a fourfold gain (the two negative
    factors multiplied to +4: CAGR +384% over its year); ruin is absorbing: wealth 0,
    CAGR and drawdown -1."""
    r = np.array([[-3.0, -3.0, 0.1, 0.1]])
    assert cagr_rows(r, 4.0)[0] == -1.0
    assert max_drawdown_rows(r)[0] == -1.0
    dd = trade_order_drawdowns(np.array([-150.0, 10.0, 500.0]), 100.0, 20)
    assert dd.min() == -1.0


def test_tearsheet_counts_a_partly_filled_position_once(daily: Panel, tmp_path: Path) -> None:
    """AAPL bought and sold under a participation cap, in many fills each way: one
    position, one trade in the summary, and a streak of one trade on the tearsheet (it
    counted every round-trip row: a streak as long as the exit's fills)."""
    import html
    import re

    from alphapulse.analytics.report.tearsheet import build_report

    cfg = {
        "data": {"source": "x"},
        "execution": {**COSTS, "max_participation": 2e-6},
        "strategies": [{"strategy": SCRIPTED, "params": {"directions": {5: [1.0], 40: [0.0]}}}],
    }
    aapl = Panel(
        daily.timestamps, daily.symbols[:1], {k: v[:, :1] for k, v in daily.fields.items()}
    )
    (r,) = run_backtest(parse_config(cfg), aapl, workers=1).values()
    assert r.final_positions[0] == 0
    s = write_outputs(r, tmp_path)
    assert len(pd.read_csv(tmp_path / "trades.csv")) > 3  # the exit's partial fills
    (pnl,) = _cycles(r.fills)
    assert s["n_trades"] == 1 and s["expectancy"] == pytest.approx(pnl, rel=1e-12)
    page = build_report(load_run(tmp_path))
    label = "Longest winning streak" if pnl > 0 else "Longest losing streak"
    cell = re.search(rf"<th>{label}</th><td>(.*?)</td>", page)
    assert cell is not None and html.unescape(cell.group(1)) == "1"
