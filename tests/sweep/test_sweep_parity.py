"""The sweep kernels must reproduce the event engine: same fills, fees and equity.

Each case runs ``run_backtest`` on a single-symbol universe (percent commission,
fixed_bps slippage, next-open fills) and the numba kernel on the same rows, and compares
final equity (1e-9 relative), the whole equity curve, fees and the fill count (exact).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.metrics import compute_metrics
from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.context import PRICES
from alphapulse.engine.feed import PanelFeed
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_backtest
from alphapulse.strategies.indicators import rolling_std, sma
from alphapulse.sweep import (
    Costs,
    SweepRuns,
    SymbolBars,
    kernels,
    run_mean_reversion,
    run_sma_cross,
    sweep_mean_reversion,
    sweep_sma,
)

SP500 = "sp500_daily_2013_2018"
CASH = 100_000.0
RATE = 0.001
BPS = 5.0
REL = 1e-9


# -- helpers ------------------------------------------------------------------------------
def _engine(
    panel: Panel,
    strategy: str,
    params: dict[str, Any],
    *,
    cash: float = CASH,
    rate: float = RATE,
    bps: float = BPS,
) -> RunResult:
    assert panel.n_symbols == 1
    cfg = parse_config(
        {
            "data": {"source": "in-memory", "symbols": list(panel.symbols)},
            "initial_cash": cash,
            "execution": {
                "commission": {"model": "percent", "rate": rate},
                "slippage": {"model": "fixed_bps", "bps": bps},
            },
            "strategies": [{"strategy": strategy, "params": params}],
        }
    )
    return run_backtest(cfg, panel)[strategy]


def _assert_same(ours: SweepRuns, i: int, ref: RunResult, label: str) -> None:
    assert ours.curves is not None
    assert int(ours.n_fills[i]) == len(ref.fills), label
    assert ours.final_equity[i] == pytest.approx(ref.equity[-1], rel=REL, abs=0), label
    assert ours.fees[i] == pytest.approx(ref.total_fees, rel=REL, abs=1e-12), label
    np.testing.assert_allclose(ours.curves[i], ref.equity, rtol=REL, atol=0, err_msg=label)


def _deferred(ref: RunResult) -> int:
    """Fills that did not happen on the row right after their order (a row without a
    full bar came in between)."""
    created = {o.id: o.created_ns for o in ref.orders}
    index = {int(ts): i for i, ts in enumerate(ref.timestamps)}
    return sum(1 for f in ref.fills if f.bar_index > index[created[f.order_id]] + 1)


@pytest.fixture(scope="module")
def sp500(shared_data: Path) -> dict[str, Panel]:
    names = ["AAPL", "MSFT", "XOM", "JPM", "FTV", "DHR", "O", "VRTX"]
    return {s: load_panel(SP500, [s], root=shared_data) for s in names}


# -- building blocks ----------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning")
def test_rolling_means_and_zscores_are_bit_identical(sp500: dict[str, Panel]) -> None:
    panel = sp500["FTV"]  # starts with a row without an open: NaN-free prices from row 0
    prices = PanelFeed(panel).history._fields[PRICES]
    bars = SymbolBars.from_panel(panel, "FTV")
    np.testing.assert_array_equal(bars.prices, prices[:, 0])
    windows = np.array([1, 2, 7, 8, 9, 20, 127, 128, 129, 200, 257], dtype=np.int64)
    means = kernels.rolling_means(bars.prices, windows)
    z = kernels.rolling_zscores(bars.prices, windows)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k, w in enumerate(windows):
            for t in range(0, panel.n_bars, 3):
                view = prices[: t + 1]
                ref_mean = sma(view, int(w), k=1)[0, 0]
                ref_std = rolling_std(view, int(w))[0, 0]
                ref_z = (view[-1, 0] - ref_mean) / ref_std
                np.testing.assert_array_equal(means[k, t], ref_mean, err_msg=f"w={w} t={t}")
                np.testing.assert_array_equal(z[k, t], ref_z, err_msg=f"w={w} t={t}")


@pytest.mark.parametrize("symbol", ["AAPL", "FTV", "synthetic"])
def test_bounded_rolling_means(sp500: dict[str, Panel], symbol: str) -> None:
    """The O(1) rolling means stay within their error bound of the exact ones, and the
    SMA kernel gives the same results from them, from exact means, and when every
    comparison is forced to the exact fallback."""
    panel = _synthetic(4) if symbol == "synthetic" else sp500[symbol]
    bars = SymbolBars.from_panel(panel, panel.symbols[0], "panel")
    windows = np.array([1, 2, 3, 5, 8, 13, 50, 128, 129, 200, 255, 300], dtype=np.int64)
    exact = kernels.rolling_means(bars.prices, windows)
    approx, err = kernels.rolling_means_bounded(bars.prices, windows)
    np.testing.assert_array_equal(np.isnan(approx), np.isnan(exact))
    ok = ~np.isnan(exact)
    assert np.all(np.abs(approx - exact)[ok] <= err[ok])
    assert np.all(err[ok] < 1e-12 * np.abs(exact[ok]))

    pairs = [(f, s) for f in (1, 2, 3, 5, 8, 13) for s in (3, 5, 8, 13, 50, 129, 200) if f < s]
    fast, slow = [f for f, _ in pairs], [s for _, s in pairs]
    a = run_sma_cross(bars, fast, slow, Costs(CASH, RATE, BPS), curves=True)
    b = run_sma_cross(bars, fast, slow, Costs(CASH, RATE, BPS), curves=True, exact=True)
    w = np.unique(np.array(fast + slow, dtype=np.int64))
    means, _ = kernels.rolling_means_bounded(bars.prices, w)
    forced = kernels.sma_cross_sweep(
        bars.open,
        bars.close,
        bars.fillable,
        bars.prices,
        w,
        means,
        np.full_like(means, np.inf),
        np.searchsorted(w, fast),
        np.searchsorted(w, slow),
        CASH,
        RATE,
        BPS,
        np.empty((0, 0)),
    )
    assert a.curves is not None and b.curves is not None
    np.testing.assert_array_equal(a.curves, b.curves)
    for x, y in zip((a.final_equity, a.n_fills, a.fees), forced, strict=True):
        np.testing.assert_array_equal(x, y)


# -- SMA crossover ------------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["AAPL", "MSFT", "XOM", "JPM", "FTV"])
def test_sma_cross_matches_engine(sp500: dict[str, Panel], symbol: str) -> None:
    panel = sp500[symbol]
    pairs = [(10, 30), (20, 50), (5, 20)]
    bars = SymbolBars.from_panel(panel, symbol)
    ours = run_sma_cross(
        bars, [f for f, _ in pairs], [s for _, s in pairs], Costs(CASH, RATE, BPS), curves=True
    )
    for i, (fast, slow) in enumerate(pairs):
        ref = _engine(panel, "sma_cross", {"fast": fast, "slow": slow})
        assert len(ref.fills) >= 4
        _assert_same(ours, i, ref, f"{symbol} {fast}/{slow}")


def test_sma_cross_waits_for_a_fillable_bar(sp500: dict[str, Panel]) -> None:
    """Rows without an open (DHR, O, VRTX) right after a cross: the order fills a row late."""
    cases = [("DHR", 7, 96), ("O", 2, 65), ("VRTX", 3, 11), ("VRTX", 3, 30)]
    deferred = 0
    for symbol, fast, slow in cases:
        panel = sp500[symbol]
        ours = run_sma_cross(
            SymbolBars.from_panel(panel, symbol),
            [fast],
            [slow],
            Costs(CASH, RATE, BPS),
            curves=True,
        )
        ref = _engine(panel, "sma_cross", {"fast": fast, "slow": slow})
        _assert_same(ours, 0, ref, f"{symbol} {fast}/{slow}")
        deferred += _deferred(ref)
    assert deferred >= 1


def test_sma_cross_without_costs(sp500: dict[str, Panel]) -> None:
    panel = sp500["AAPL"]
    ours = run_sma_cross(
        SymbolBars.from_panel(panel, "AAPL"), [10], [30], Costs(CASH, 0.0, 0.0), curves=True
    )
    ref = _engine(panel, "sma_cross", {"fast": 10, "slow": 30}, rate=0.0, bps=0.0)
    _assert_same(ours, 0, ref, "AAPL 10/30 no costs")


def test_sparse_intraday(shared_data: Path) -> None:
    """TPL one-minute bars (177 in 2024-01-02..15): alone (its own rows), and on the time
    axis shared with NVR (1609 rows, TPL has no bar in 1432 of them: forward-filled prices
    in the indicator windows, orders wait for TPL's next bar)."""
    own = load_panel("intraday_1min_2024", ["TPL"], root=shared_data, end="2024-01-15")
    both = load_panel("intraday_1min_2024", ["TPL", "NVR"], root=shared_data, end="2024-01-15")
    shared = both.select(["TPL"])
    assert np.isnan(shared.fields["close"]).sum() > 50
    pairs = [(3, 10), (5, 20), (10, 30)]
    fast, slow = [f for f, _ in pairs], [s for _, s in pairs]
    deferred = 0
    for panel, align in ((own, "own"), (both, "panel")):
        bars = SymbolBars.from_panel(panel, "TPL", align)  # type: ignore[arg-type]
        ours = run_sma_cross(bars, fast, slow, Costs(CASH, RATE, BPS), curves=True)
        one = own if align == "own" else shared
        for i, (f, s) in enumerate(pairs):
            ref = _engine(one, "sma_cross", {"fast": f, "slow": s})
            assert len(ref.fills) >= 2
            _assert_same(ours, i, ref, f"TPL {align} {f}/{s}")
            deferred += _deferred(ref) if align == "panel" else 0
        mr = run_mean_reversion(bars, [10], [1.0], [0.0], Costs(CASH, RATE, BPS), curves=True)
        ref = _engine(one, "mean_reversion", {"window": 10, "entry_z": 1.0, "exit_z": 0.0})
        assert len(ref.fills) >= 2
        _assert_same(mr, 0, ref, f"TPL {align} mean reversion")
    assert deferred >= 1


# -- mean reversion -----------------------------------------------------------------------
@pytest.mark.parametrize("symbol", ["AAPL", "XOM", "DHR"])
def test_mean_reversion_matches_engine(sp500: dict[str, Panel], symbol: str) -> None:
    panel = sp500[symbol]
    sets = [(20, 2.0, 0.0), (10, 1.5, 0.5), (40, 1.0, -0.5)]
    ours = run_mean_reversion(
        SymbolBars.from_panel(panel, symbol),
        [s[0] for s in sets],
        [s[1] for s in sets],
        [s[2] for s in sets],
        Costs(CASH, RATE, BPS),
        curves=True,
    )
    for i, (window, entry, exit_) in enumerate(sets):
        params = {"window": window, "entry_z": entry, "exit_z": exit_}
        ref = _engine(panel, "mean_reversion", params)
        assert len(ref.fills) >= 4
        _assert_same(ours, i, ref, f"{symbol} {params}")


# -- synthetic edge cases -----------------------------------------------------------------
def _synthetic(seed: int, n: int = 360) -> Panel:
    """Tick-rounded random walk with flat stretches (exact SMA ties), rows without any
    bar and rows without an open."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([-0.05, 0.0, 0.05], size=n, p=[0.35, 0.3, 0.35]) * rng.integers(1, 6, n)
    steps[rng.random(n) < 0.15] = 0.0
    close = np.round(100.0 + np.cumsum(steps), 2)
    open_ = np.round(close - rng.choice([-0.05, 0.0, 0.05], size=n), 2)
    high = np.maximum(open_, close) + 0.05
    low = np.minimum(open_, close) - 0.05
    fields = {"open": open_, "high": high, "low": low, "close": close, "volume": np.full(n, 1e5)}
    return _gapped_panel(rng, fields, gap_p=0.12, no_open_p=0.05)


def _gapped_panel(
    rng: np.random.Generator, fields: dict[str, np.ndarray], gap_p: float, no_open_p: float
) -> Panel:
    """Daily one-symbol ("SYN") Panel of ``fields`` with random rows without any bar
    (probability ``gap_p``) and without an open (``no_open_p``), drawn from ``rng``."""
    n = len(fields["close"])
    gaps = rng.random(n) < gap_p
    no_open = rng.random(n) < no_open_p
    out = {}
    for k, v in fields.items():
        v = v.copy()
        v[gaps] = np.nan
        if k == "open":
            v[no_open] = np.nan
        out[k] = v[:, None]
    ts = (np.arange(n, dtype=np.int64) + 19_000) * 86_400 * 1_000_000_000
    return Panel(ts, ("SYN",), out)


def _both_sweeps(
    bars: SymbolBars,
    pairs: list[tuple[int, int]],
    sets: list[tuple[int, float, float]],
    costs: Costs,
) -> tuple[SweepRuns, SweepRuns]:
    """The SMA-cross runs of the (fast, slow) ``pairs`` and the mean-reversion runs of the
    (window, entry_z, exit_z) ``sets``, with curves."""
    sma_runs = run_sma_cross(bars, [f for f, _ in pairs], [s for _, s in pairs], costs, curves=True)
    mr_runs = run_mean_reversion(
        bars,
        [s[0] for s in sets],
        [s[1] for s in sets],
        [s[2] for s in sets],
        costs,
        curves=True,
    )
    return sma_runs, mr_runs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_gaps_ties_and_small_cash(seed: int) -> None:
    """Rows without bars (orders wait, new signals cancel them), exact SMA ties and a
    cash balance that sometimes cannot buy one share (rejected buys)."""
    panel = _synthetic(seed)
    bars = SymbolBars.from_panel(panel, "SYN", "panel")
    pairs = [(2, 3), (2, 5), (3, 8), (5, 13)]
    sets = [(5, 1.0, 0.0), (3, 0.5, -0.5), (8, 1.5, 0.5)]
    for cash in (CASH, 150.0):
        sma_runs, mr_runs = _both_sweeps(bars, pairs, sets, Costs(cash, RATE, BPS))
        for i, (f, s) in enumerate(pairs):
            ref = _engine(panel, "sma_cross", {"fast": f, "slow": s}, cash=cash)
            _assert_same(sma_runs, i, ref, f"seed {seed} cash {cash} sma {f}/{s}")
        for i, (w, e, x) in enumerate(sets):
            params = {"window": w, "entry_z": e, "exit_z": x}
            ref = _engine(panel, "mean_reversion", params, cash=cash)
            _assert_same(mr_runs, i, ref, f"seed {seed} cash {cash} mr {params}")


def _volatile(seed: int, n: int = 80) -> Panel:
    """A very volatile walk with many rows without an open or without any bar."""
    rng = np.random.default_rng(seed)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.25, n))), 2)
    open_ = np.round(np.r_[close[0], close[:-1]] * np.exp(rng.normal(0, 0.05, n)), 2)
    fields = {
        "open": open_,
        "high": np.maximum(open_, close) + 0.01,
        "low": np.minimum(open_, close) - 0.01,
        "close": close,
        "volume": np.full(n, 1e4),
    }
    return _gapped_panel(rng, fields, gap_p=0.1, no_open_p=0.2)


def test_fuzz_small_accounts_rare_branches() -> None:
    """Accounts of one or two shares on a volatile walk reach the planner's and venue's
    rare branches: rejected buys, a buy while the sell is still waiting (a 'rebalance'
    order, filled or rejected) and orders replaced by a new target."""
    seen: dict[str, int] = {"rejected": 0, "rebalance_filled": 0, "rebalance_rejected": 0}
    pairs = [(1, 2), (1, 3), (2, 4)]
    sets = [(3, 0.5, 0.0), (4, 1.0, -0.5)]
    for seed in (3, 5, 14, 15, 43, 54):
        panel = _volatile(seed)
        cash = float(np.random.default_rng(seed + 1000).uniform(100, 300))
        bars = SymbolBars.from_panel(panel, "SYN", "panel")
        sma_runs, mr_runs = _both_sweeps(bars, pairs, sets, Costs(cash, RATE, BPS))
        refs = [
            (sma_runs, i, _engine(panel, "sma_cross", {"fast": f, "slow": s}, cash=cash))
            for i, (f, s) in enumerate(pairs)
        ]
        refs += [
            (
                mr_runs,
                i,
                _engine(
                    panel,
                    "mean_reversion",
                    dict(zip(("window", "entry_z", "exit_z"), st, strict=True)),
                    cash=cash,
                ),
            )
            for i, st in enumerate(sets)
        ]
        for runs, i, ref in refs:
            _assert_same(runs, i, ref, f"seed {seed} set {i}")
            for o in ref.orders:
                rejected = o.status.value == "rejected"
                seen["rejected"] += rejected
                if o.tag == "rebalance":
                    seen["rebalance_rejected" if rejected else "rebalance_filled"] += 1
    assert min(seen.values()) >= 1, seen


# -- grid API -----------------------------------------------------------------------------
def test_sweep_sma_grid(sp500: dict[str, Panel], shared_data: Path) -> None:
    panel = load_panel(SP500, ["AAPL", "FTV"], root=shared_data)
    df = sweep_sma(
        panel, [5, 10, 30], [10, 30], initial_cash=CASH, commission_rate=RATE, slippage_bps=BPS
    )
    assert list(df.columns) == [
        "symbol",
        "fast",
        "slow",
        "final_equity",
        "total_return",
        "sharpe",
        "n_fills",
        "fees",
    ]
    assert list(zip(df["symbol"], df["fast"], df["slow"], strict=True)) == [
        (s, f, w) for s in ("AAPL", "FTV") for f, w in ((5, 10), (5, 30), (10, 30))
    ]
    row = df[(df["symbol"] == "FTV") & (df["fast"] == 10) & (df["slow"] == 30)].iloc[0]
    ref = _engine(sp500["FTV"], "sma_cross", {"fast": 10, "slow": 30})
    assert row["final_equity"] == pytest.approx(ref.equity[-1], rel=REL)
    assert row["n_fills"] == len(ref.fills)
    equity = pd.Series(ref.equity, index=pd.to_datetime(ref.timestamps, utc=True))
    m = compute_metrics(equity, pd.DataFrame({"pnl": []}))
    assert row["total_return"] == pytest.approx(m["total_return"], rel=REL)
    assert row["sharpe"] == pytest.approx(m["sharpe"], rel=REL)


def test_sweep_mean_reversion_grid(sp500: dict[str, Panel]) -> None:
    df = sweep_mean_reversion(
        sp500["XOM"], [10, 20], [1.5, 2.0], [0.0], commission_rate=RATE, slippage_bps=BPS
    )
    assert len(df) == 4
    assert list(df.columns[:4]) == ["symbol", "window", "entry_z", "exit_z"]
    row = df.iloc[3]
    ref = _engine(sp500["XOM"], "mean_reversion", {"window": 20, "entry_z": 2.0, "exit_z": 0.0})
    assert row["final_equity"] == pytest.approx(ref.equity[-1], rel=REL)
    assert row["n_fills"] == len(ref.fills)
    assert math.isfinite(row["sharpe"])


def test_results_are_deterministic(sp500: dict[str, Panel]) -> None:
    bars = SymbolBars.from_panel(sp500["MSFT"], "MSFT")
    pairs = [(f, s) for f in range(5, 51, 5) for s in range(20, 201, 10) if f < s]
    fast, slow = [p[0] for p in pairs], [p[1] for p in pairs]
    a = run_sma_cross(bars, fast, slow, curves=True)
    b = run_sma_cross(bars, fast, slow, curves=False)
    for name in ("final_equity", "n_fills", "fees"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert b.curves is None
    assert a.curves is not None
    np.testing.assert_array_equal(a.curves[:, -1], a.final_equity)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        c = run_sma_cross(bars, fast, slow, curves=True)
    finally:
        numba.set_num_threads(threads)
    assert c.curves is not None
    np.testing.assert_array_equal(a.curves, c.curves)


def test_rejects_bad_grids(sp500: dict[str, Panel]) -> None:
    bars = SymbolBars.from_panel(sp500["AAPL"], "AAPL")
    with pytest.raises(ValueError, match="fast < slow"):
        run_sma_cross(bars, [30], [10])
    with pytest.raises(ValueError, match="align"):
        SymbolBars.from_panel(sp500["AAPL"], "AAPL", "bogus")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="commission_rate"):
        Costs(CASH, -1.0, 0.0)
