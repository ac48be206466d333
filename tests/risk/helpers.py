"""Helpers for the risk tests: configs, runs, synthetic panels and contexts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from alphapulse.config import parse_config
from alphapulse.data.panel import Panel
from alphapulse.engine.context import PRICES, Context, History
from alphapulse.engine.feed import forward_fill
from alphapulse.engine.loop import RunResult
from alphapulse.engine.runner import run_backtest

RANDOM = "tests.engine.strategies_for_tests:RandomSignals"
NO_GUARDS: dict[str, Any] = {
    "daily_loss_limit": None,
    "max_drawdown": None,
    "intraday_loss_limit": None,
    "stale_data": None,
    "error_burst": None,
}
NO_LIMITS: dict[str, Any] = {
    "max_position_pct": None,
    "max_group_pct": None,
    "max_gross_leverage": None,
    "max_net_leverage": None,
}


def config(
    panel: Panel,
    strategy: str = "buy_and_hold",
    params: dict[str, Any] | None = None,
    **over: Any,
) -> dict[str, Any]:
    """A run config over ``panel``'s symbols with costs on (``over`` replaces top keys)."""
    cfg: dict[str, Any] = {
        "data": {"source": "sp500_daily_2013_2018", "symbols": list(panel.symbols)},
        "initial_cash": 1_000_000.0,
        "execution": {
            "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
            "slippage": {"model": "fixed_bps", "bps": 2},
        },
        "strategies": [{"strategy": strategy, "params": params or {}}],
    }
    cfg.update(over)
    return cfg


def run(panel: Panel, cfg: dict[str, Any]) -> RunResult:
    c = parse_config(cfg)
    return next(iter(run_backtest(c, panel, workers=1).values()))


def synthetic_panel(
    ohlcv: dict[str, np.ndarray], start: str = "2020-01-01", freq: str = "B"
) -> Panel:
    """A panel from per-symbol [T, 5] OHLCV arrays on daily timestamps."""
    symbols = tuple(sorted(ohlcv))
    t = len(next(iter(ohlcv.values())))
    ts = pd.date_range(start, periods=t, freq=freq, tz="UTC").as_unit("ns").asi8
    fields = {
        name: np.column_stack([np.asarray(ohlcv[s], dtype=float)[:, j] for s in symbols])
        for j, name in enumerate(("open", "high", "low", "close", "volume"))
    }
    return Panel(np.asarray(ts, dtype=np.int64), symbols, fields)


def context_at(
    panel: Panel,
    t: int,
    positions: np.ndarray | None = None,
    cash: float = 1_000_000.0,
) -> Context:
    """A Context at step ``t`` of ``panel`` with the given book (marked at t's closes)."""
    fields = dict(panel.fields)
    fields[PRICES] = forward_fill(panel.fields["close"])
    hist = History(fields, panel.timestamps)
    hist.advance(t + 1)
    n = panel.n_symbols
    pos = np.zeros(n) if positions is None else np.asarray(positions, dtype=float)
    last = fields[PRICES][t].copy()
    mv = np.where(pos != 0, pos * np.nan_to_num(last), 0.0)
    return Context(
        t=t,
        ts_ns=int(panel.timestamps[t]),
        symbols=panel.symbols,
        history=hist,
        positions=pos,
        avg_prices=np.where(pos != 0, last, 0.0),
        last_prices=last,
        cash=cash,
        equity=cash + float(mv.sum()),
    )


def perturb_after(panel: Panel, t0: int, seed: int = 1) -> Panel:
    """The same panel with every bar after ``t0`` changed (look-ahead canary)."""
    rng = np.random.default_rng(seed)
    fields = {k: v.copy() for k, v in panel.fields.items()}
    scale = rng.uniform(0.5, 1.5, size=fields["close"][t0 + 1 :].shape)
    for k in ("open", "high", "low", "close"):
        fields[k][t0 + 1 :] *= scale
    return Panel(panel.timestamps, panel.symbols, fields)


def ts_index(panel: Panel, ts_ns: int) -> int:
    return int(np.searchsorted(panel.timestamps, ts_ns))
