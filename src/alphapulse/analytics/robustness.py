"""The robustness block of summary.json: is the result luck?

* ``bootstrap``: stationary block-bootstrap (``analytics.bootstrap``) percentile
  intervals of the annualised Sharpe ratio, CAGR (over ``n / ppy`` years) and maximum
  drawdown of the per-bar returns, with the point estimates of the same formulas.
* ``trade_order``: Monte Carlo reshuffling of the round trips' P&L order; percentiles of
  the resulting maximum drawdown of ``initial_cash + cumsum(pnl)`` (at most -1.0, ruin,
  as every drawdown of the summary).
* ``deflated_sharpe``: ``analytics.overfitting.deflated_sharpe`` with ``n_trials`` (the
  strategies or parameter sets behind the result) and the variance of their per-bar
  Sharpe ratios; with fewer than two of them the estimator variance
  ``(1 - skew SR + (kurt - 1) / 4 SR^2) / (T - 1)`` stands in.
* ``distribution``: skew, excess kurtosis and tail ratio (95th percentile / |5th
  percentile|) of the per-bar returns.
* ``kill_switch``: live limits past which the live run is unlike the backtest: the 1st
  percentile of the bootstrap maximum drawdown (a drawdown past its 99th percentile) and
  the 1st percentile of the per-bar return.
* ``capacity``: ``analytics.capacity`` (None when the run's market data is not given).
* ``pbo`` (added by ``run_robustness``): the probability of backtest overfitting of the
  set of runs tried together (a config's strategies, an optimisation's grid), else None.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy.stats import kurtosis, skew

from alphapulse.analytics import bootstrap as bs
from alphapulse.analytics.overfitting import deflated_sharpe, expected_max_sharpe

FloatArray = npt.NDArray[np.float64]
LEVEL = 0.95


def return_shape(r: FloatArray) -> dict[str, float | None]:
    """Skew, excess kurtosis and tail ratio of per-bar returns (None when undefined)."""
    if len(r) < 3 or float(np.std(r)) == 0.0:
        return {"skew": None, "kurtosis": None, "tail_ratio": None}
    p5, p95 = np.percentile(r, [5.0, 95.0])
    return {
        "skew": _num(skew(r)),
        "kurtosis": _num(kurtosis(r)),
        "tail_ratio": _num(p95 / -p5) if p5 < 0 else None,
    }


def trade_order_drawdowns(
    pnl: FloatArray, initial_cash: float, n_resamples: int = 1000, seed: int = 0
) -> FloatArray:
    """Max drawdown of ``initial_cash + cumsum(pnl)`` for ``n_resamples`` random orders."""
    return _shuffled_drawdowns(np.asarray(pnl, dtype=np.float64), initial_cash, n_resamples, seed)


@numba.njit(cache=True)
def _shuffled_drawdowns(pnl: FloatArray, start: float, n: int, seed: int) -> FloatArray:
    """Fisher-Yates shuffle of ``pnl`` per resample and one pass for its max drawdown."""
    np.random.seed(seed)
    out = np.empty(n)
    work = pnl.copy()
    for k in range(n):
        for i in range(len(work) - 1, 0, -1):
            j = np.random.randint(0, i + 1)
            work[i], work[j] = work[j], work[i]
        wealth, peak, worst = start, start, 0.0
        for x in work:
            wealth += x
            peak = max(peak, wealth)
            dd = max(wealth / peak - 1.0, -1.0) if peak > 0 else -1.0
            worst = min(worst, dd)
        out[k] = worst
    return out


def robustness(
    returns: FloatArray,
    ppy: float,
    *,
    trade_pnl: FloatArray,
    initial_cash: float,
    n_trials: int = 1,
    trial_sharpes: FloatArray | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    capacity: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The robustness block (see the module docstring) of per-bar ``returns``."""
    r = np.asarray(returns, dtype=np.float64)
    out: dict[str, Any] = {"distribution": return_shape(r), "capacity": capacity}
    if len(r) < 3:
        out.update(bootstrap=None, trade_order=None, deflated_sharpe=None, kill_switch=None)
        return out
    block = bs.default_block(len(r))
    sample = bs.resample(r, n_resamples, mean_block=block, seed=seed)
    row = r[None, :]
    stats = {
        "sharpe": (bs.sharpe_rows(row, ppy), bs.sharpe_rows(sample, ppy)),
        "cagr": (bs.cagr_rows(row, ppy), bs.cagr_rows(sample, ppy)),
        "max_drawdown": (bs.max_drawdown_rows(row), bs.max_drawdown_rows(sample)),
    }
    boot: dict[str, Any] = {
        "method": "stationary",
        "n_resamples": n_resamples,
        "mean_block": block,
        "level": LEVEL,
        "seed": seed,
    }
    for key, (point, dist) in stats.items():
        lo, hi = bs.percentile_ci(dist, LEVEL)
        boot[key] = {"estimate": _num(point[0]), "ci_low": lo, "ci_high": hi}
    out["bootstrap"] = boot
    out["trade_order"] = _trade_order(trade_pnl, initial_cash, n_resamples, seed)
    out["deflated_sharpe"] = _dsr(r, n_trials, trial_sharpes)
    dd = stats["max_drawdown"][1]
    out["kill_switch"] = {
        "max_drawdown": float(np.percentile(dd, 1.0)),
        "bar_return": float(np.percentile(r, 1.0)),
    }
    return out


def _trade_order(pnl: FloatArray, initial_cash: float, n: int, seed: int) -> dict[str, Any] | None:
    pnl = np.asarray(pnl, dtype=np.float64)
    if len(pnl) < 2 or not initial_cash > 0:
        return None
    dd = trade_order_drawdowns(pnl, initial_cash, n, seed)
    p50, p95, p99 = np.percentile(dd, [50.0, 5.0, 1.0])
    return {"n_trades": len(pnl), "n_resamples": n, "median": p50, "p95": p95, "p99": p99}


def _dsr(r: FloatArray, n_trials: int, trial_sharpes: FloatArray | None) -> dict[str, Any]:
    sr = float(bs.sharpe_rows(r[None, :], 1.0)[0])
    g, k = float(skew(r)), float(kurtosis(r, fisher=False))
    trials = np.asarray(trial_sharpes if trial_sharpes is not None else [], dtype=np.float64)
    trials = trials[np.isfinite(trials)]
    if len(trials) >= 2:
        var = float(np.var(trials, ddof=1))
    else:
        var = (1.0 - g * sr + (k - 1.0) / 4.0 * sr**2) / max(len(r) - 1, 1)
    n = max(int(n_trials), 1)
    return {
        "value": _num(deflated_sharpe(sr, len(r), g, k, n, var)),
        "n_trials": n,
        "sharpe_per_bar": _num(sr),
        "expected_max_sharpe_per_bar": _num(expected_max_sharpe(n, max(var, 0.0))),
        "trial_sharpe_var": _num(var),
    }


def _num(v: Any) -> float | None:
    f = float(v)
    return f if math.isfinite(f) else None
