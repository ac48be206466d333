"""Metrics of many equity curves at once (numpy), defined as in ``analytics.metrics``:
``r = equity[t] / equity[t-1] - 1`` (returns after a non-positive value left out),
``sharpe = mean(r) / std(r, ddof=1) x sqrt(periods_per_year)`` (risk-free 0), NaN with
fewer than two returns or a return spread below 1e-14 x max(1, max |r|)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_NOISE = 1e-14  # analytics.metrics._NOISE


def total_returns(final_equity: FloatArray, initial_cash: float) -> FloatArray:
    """``final / initial - 1`` per run."""
    out: FloatArray = np.asarray(final_equity, dtype=np.float64) / initial_cash - 1.0
    return out


def sharpe_ratios(curves: FloatArray, periods_per_year: float) -> FloatArray:
    """Annualised Sharpe ratio of each row of ``curves`` ([runs, bars])."""
    eq = np.atleast_2d(np.asarray(curves, dtype=np.float64))
    prev, cur = eq[:, :-1], eq[:, 1:]
    keep = prev > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.divide(cur, prev)
    r -= 1.0
    if keep.all():  # the usual case
        count = np.full(eq.shape[0], prev.shape[1])
    else:
        r[~keep] = 0.0
        count = keep.sum(axis=1)
    mean = r.sum(axis=1) / np.maximum(count, 1)
    big = np.maximum(r.max(axis=1, initial=0.0), -r.min(axis=1, initial=0.0))
    r -= mean[:, None]  # r is now the deviation from the mean
    if not keep.all():
        r[~keep] = 0.0
    var = np.einsum("ij,ij->i", r, r) / np.maximum(count - 1, 1)
    std = np.sqrt(var)
    ok = (count >= 2) & (std > _NOISE * np.maximum(1.0, big))
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = np.where(ok, mean / std * np.sqrt(periods_per_year), np.nan)
    return out
