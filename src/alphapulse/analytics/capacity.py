"""Capacity: the capital at which square-root market impact eats half the gross edge.

Each fill ``i`` of the run traded notional ``x_i`` at participation ``p_i = q_i / V_i``
(its quantity over the bar's volume) in a symbol whose per-bar return volatility is
``s_i``; the square-root model charges it ``c * s_i * sqrt(p_i) * x_i``. Scaling the
capital by ``k`` scales every notional and participation by ``k``, so the impact grows as
``k ** 1.5 * I`` while the gross edge (P&L before fees and slippage) grows as ``k * G``.
Impact equals half the edge at ``k = (G / (2 I)) ** 2``; the capacity is ``k`` times the
run's capital. It is None without a positive gross edge or without measurable impact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def symbol_volatility(close: FloatArray) -> FloatArray:
    """Standard deviation of each column's simple bar returns (NaN bars skipped; NaN
    for a column with fewer than two returns, without numpy's warning)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = close[1:] / close[:-1] - 1.0
    ok = np.isfinite(r)
    n = ok.sum(axis=0)
    mean = np.where(ok, r, 0.0).sum(axis=0) / np.maximum(n, 1)
    ss = np.square(np.where(ok, r - mean, 0.0)).sum(axis=0)
    out: FloatArray = np.where(n >= 2, np.sqrt(ss / np.maximum(n - 1, 1)), np.nan)
    return out


def impact_cost(
    notional: FloatArray, participation: FloatArray, sigma: FloatArray, coefficient: float = 1.0
) -> float:
    """Square-root impact of the fills in cash: ``sum(c * s * sqrt(p) * x)``."""
    ok = np.isfinite(notional) & np.isfinite(participation) & np.isfinite(sigma)
    ok &= participation > 0
    return float(np.sum(coefficient * sigma[ok] * np.sqrt(participation[ok]) * notional[ok]))


def capacity_estimate(
    *,
    capital: float,
    gross_edge: float,
    notional: FloatArray,
    participation: FloatArray,
    sigma: FloatArray,
    coefficient: float = 1.0,
) -> dict[str, Any]:
    """Capacity (see the module docstring) with the inputs it was derived from."""
    impact = impact_cost(notional, participation, sigma, coefficient)
    ok = np.isfinite(participation) & (participation > 0)
    cap = None
    if gross_edge > 0 and impact > 0 and capital > 0:
        cap = capital * (gross_edge / (2.0 * impact)) ** 2
    return {
        "capacity": cap if cap is None or math.isfinite(cap) else None,
        "capital": capital,
        "gross_edge": gross_edge,
        "impact_at_capital": impact,
        "median_participation": float(np.median(participation[ok])) if ok.any() else None,
        "coefficient": coefficient,
    }


def fill_inputs(
    quantity: FloatArray,
    price: FloatArray,
    sid: IntArray,
    bar: IntArray,
    volume: FloatArray,
    close: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-fill notional, participation and symbol volatility from the [T, N] panel."""
    vol = volume[bar, sid] if len(bar) else np.empty(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        participation = np.where(vol > 0, quantity / vol, np.nan)
    sigma = symbol_volatility(close)[sid] if len(sid) else np.empty(0)
    return quantity * price, participation, sigma
