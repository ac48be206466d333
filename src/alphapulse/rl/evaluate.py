"""``alphapulse rl evaluate``: walk-forward, out of sample, after costs.

The last ``folds x test_bars`` bars are cut into test windows; fold k trains a policy on
the ``train_bars`` before its ``valid_bars`` validation window, which ends where its test
window starts, then runs it deterministically over the test window from a flat book
(the environment is the engine, so this is the plugin's path). The baselines (buy and
hold, SMA crossover, the LightGBM ``ml`` strategy trained inside the engine on the bars
before the window) run per fold as the policy does: through the engine with the same
costs, from a flat book of the initial cash, first deciding on the window's first bar
(their indicators see the bars before); their per-bar returns inside the test windows
are compared. The table has,
per strategy, the compounded test return, the annualised Sharpe ratio with a
stationary-bootstrap 95% interval, the maximum drawdown, and the number of
configurations tried (``evaluate.configurations_tried``), whatever the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics.bootstrap import max_drawdown_rows, percentile_ci, resample, sharpe_rows
from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.config import StrategyConfig
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.executor import Report, get_executor
from alphapulse.executor.local import LocalExecutor
from alphapulse.rl.config import RLConfig
from alphapulse.rl.env import TradingEnv
from alphapulse.rl.observe import Obs
from alphapulse.rl.train import panel_features, run_policy, train_policy

FloatArray = npt.NDArray[np.float64]
Rows = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]  # train, validation, test


def fold_rows(n_bars: int, cfg: RLConfig) -> list[Rows]:
    """(train, validation, test) row ranges of each fold, oldest first."""
    ev, warmup = cfg.evaluate, cfg.env.warmup_bars
    if ev.train_bars < warmup + 2:  # a training episode starts after the warmup
        raise ConfigError(
            f"evaluate.train_bars {ev.train_bars}: env.warmup_bars {warmup} needs at least "
            f"{warmup + 2}"
        )
    first_test = n_bars - ev.folds * ev.test_bars
    if first_test - ev.valid_bars - ev.train_bars < 0:
        need = ev.folds * ev.test_bars + ev.valid_bars + ev.train_bars
        raise ConfigError(
            f"evaluate: {ev.folds} folds of test_bars {ev.test_bars} after train_bars "
            f"{ev.train_bars} + valid_bars {ev.valid_bars} need {need} bars; the data has {n_bars}"
        )
    out = []
    for k in range(ev.folds):
        lo = first_test + k * ev.test_bars
        v0 = lo - ev.valid_bars
        out.append(((v0 - ev.train_bars, v0), (v0, lo), (lo, lo + ev.test_bars)))
    return out


def _returns(equity: FloatArray, start: float) -> FloatArray:
    return np.diff(np.concatenate(([start], equity))) / np.concatenate(([start], equity[:-1]))


def _fold(
    shared: tuple[Panel, RLConfig, Obs], item: tuple[int, int, Rows], report: Report
) -> FloatArray:
    """Fold k (an executor task): train on its window, run over its test rows; the
    per-bar returns after costs, one per test bar (after a ruin: 0)."""
    panel, cfg, feats = shared
    k, n, (train_rows, valid_rows, test_rows) = item
    result = train_policy(cfg, panel, train_rows, valid_rows, feats)
    env = TradingEnv(panel, cfg.backtest(), cfg.env, test_rows, fixed_start=True, features=feats)
    ret, equity = run_policy(result.policy, env)
    equity += equity[-1:] * (env.length - len(equity))  # ruin (terminated): the book stays
    if report is not None:
        report(f"fold {k + 1}/{n}: {result.timesteps} steps, test return {ret:+.2%}")
    return _returns(np.asarray(equity), cfg.initial_cash)


def baseline_returns(
    cfg: RLConfig, panel: Panel, folds: list[Rows], log: Any = None
) -> dict[str, FloatArray]:
    """Each baseline's per-bar returns after costs in the test windows, run as the policy
    is: per fold from a flat book of ``initial_cash``, first deciding on the window's
    first bar (``ml.research.Gated``; ``ml`` trains there), through the engine over the
    panel (indicators see the bars before)."""
    from alphapulse.engine.runner import run_strategy
    from alphapulse.ml.research import gate

    out: dict[str, list[FloatArray]] = {}
    for k, (_, _, (lo, hi)) in enumerate(folds):
        start = pd.Timestamp(panel.timestamps[lo], tz="UTC").isoformat()
        ml = StrategyConfig(strategy="ml", params={"start": start})
        for scfg in [*gate(cfg.evaluate.baselines, start), ml]:
            res = run_strategy(cfg.backtest(), scfg, panel)
            out.setdefault(scfg.label, []).append(_returns(res.equity[lo:hi], cfg.initial_cash))
        if log is not None:
            log(f"fold {k + 1}/{len(folds)}: baselines done")
    return {label: np.concatenate(r) for label, r in out.items()}


def evaluate(cfg: RLConfig, panel: Panel | None = None, log: Any = None) -> pd.DataFrame:
    """The walk-forward table (see the module docstring); ``log(str)`` gets progress."""
    from alphapulse.engine.runner import load_data

    panel = panel if panel is not None else load_data(cfg.backtest())
    folds = fold_rows(panel.n_bars, cfg)
    feats = panel_features(panel, cfg)
    executor = get_executor(cfg.executor) if cfg.executor is not None else LocalExecutor(1)
    items = [(k, len(folds), rows) for k, rows in enumerate(folds)]
    rl = executor.map(_fold, items, (panel, cfg, feats), log)  # one task per fold
    series = {f"rl_{cfg.learn.algo}": np.concatenate(rl)}
    series.update(baseline_returns(cfg, panel, folds, log))
    ppy = observed_periods_per_year(panel.index())
    return summary_table(series, ppy, cfg.evaluate.bootstrap, cfg.evaluate.configurations_tried)


def summary_table(
    series: dict[str, FloatArray], ppy: float, n_boot: int, tried: int
) -> pd.DataFrame:
    """One row per strategy: test return, Sharpe with a bootstrap 95% CI, max drawdown."""
    rows = []
    for name, r in series.items():
        row = r.reshape(1, -1)
        lo = hi = None
        if n_boot and len(r) > 2:
            lo, hi = percentile_ci(sharpe_rows(resample(r, n_boot, seed=0), ppy))
        rows.append(
            {
                "strategy": name,
                "bars": len(r),
                "total_return": float(np.prod(1.0 + r) - 1.0),
                "sharpe": float(sharpe_rows(row, ppy)[0]),
                "sharpe_lo95": lo,
                "sharpe_hi95": hi,
                "max_drawdown": float(max_drawdown_rows(row)[0]),
                "configs_tried": tried,
            }
        )
    return pd.DataFrame(rows)
