"""Performance metrics of a backtest: one flat, JSON-serialisable dict.

Definitions (``r`` = simple per-bar returns ``equity[t] / equity[t-1] - 1``, ``ppy`` =
bars per year, ``years`` = calendar time between the first and last timestamp, in days
/ 365.25):

* total_return: ``final / first - 1``; ``first`` is the account value before the first
  bar when given (``initial``: a run's initial cash, so costs of fills at the first
  bar's close count), else the first value. final_equity: the last value. A return
  whose previous equity is not positive is left out of ``r``.
* cagr: ``(final / first) ** (1 / years) - 1``; -1.0 when ``final`` is at or below
  zero (ruin: the capital is gone whatever the time it took). quantstats 0.0.86 uses ``years =
  len(r) / ppy`` instead; the two agree for a gap-free series whose ``ppy`` is exact
  and differ slightly otherwise (e.g. 252 vs 251.8 daily bars per calendar year).
* volatility: ``std(r, ddof=1) * sqrt(ppy)``. Inferred ``ppy`` counts the bars actually
  present (``frequency.observed_periods_per_year``): daily bars 252 (or 365), intraday
  bars the mean bars per trading day present x trading days, so sparse 1-minute data is
  annualised like its daily-resampled equity (about 65,000 bars a year, not 100,548).
* sharpe: ``mean(x) / std(x, ddof=1) * sqrt(ppy)`` with ``x = r - rf_bar`` and
  ``rf_bar = (1 + risk_free) ** (1 / ppy) - 1`` (``risk_free`` is annual), as quantstats.
* sortino: as quantstats: ``mean(x) / sqrt(sum(min(x, 0) ** 2) / len(x)) * sqrt(ppy)``.
* max_drawdown: the most negative ``equity / running peak - 1`` (0.0 without one), at
  most -1.0: an equity at or below zero is ruin, the whole peak lost (the loss beyond the
  capital shows in total_return and final_equity); the bootstrap block's drawdowns and
  CAGR use the same rule. The first value is the starting peak. calmar: ``cagr /
  |max_drawdown|``.
* max_drawdown_duration_bars / _days: the longest drawdown from its peak bar to its
  recovery bar (or the last bar if it never recovers); each is the maximum over
  drawdowns on its own scale, 0 without a drawdown. quantstats' ``drawdown_details``
  counts instead from the first bar under water to the last, in whole days plus one.
* Trade statistics over positions (``trades.position_pnl``: the ``trades`` rows of one
  symbol's position, flat to flat, summed; cash, net of fees): n_trades (positions);
  win_rate = winners / (winners + losers), breakeven trades left out as quantstats does;
  avg_win / avg_loss = mean pnl of winners / losers (avg_loss is negative); profit_factor
  = gross profit / gross loss; expectancy = mean pnl over all trades. A run's summary
  (``engine.outputs.summary``) passes the positions flat at the end only
  (``trades.closed_positions``): one still open is no trade, partial exits and all.
* turnover: ``turnover_notional / mean(equity) / years`` (per year; a full round trip of
  the whole equity is 2.0 of notional, ``trades.traded_notional`` gives the sum).
* exposure: ``mean(|exposure| / equity)``; ``exposure`` is gross exposure in cash, taken
  at each bar as its last value at or before it (0 before its first value).

Undefined values are None, never NaN or inf: annualised figures without ``ppy`` or with
fewer than two returns, sharpe with zero return spread (a flat equity curve), sortino
without a negative excess return, cagr/turnover over zero elapsed time, calmar without a
drawdown, the trade statistics without trades (n_trades is 0), profit_factor without a
losing trade, exposure when ``exposure`` is not given. A spread below floating-point noise
(1e-14 of the larger of 1 and the largest |return|) counts as zero.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics.drawdown import drawdown, drawdown_spans
from alphapulse.analytics.frequency import observed_periods_per_year
from alphapulse.analytics.trades import position_pnl

FloatArray = npt.NDArray[np.float64]
MetricValue = float | int | None

_NS_PER_YEAR = 365.25 * 86_400 * 1_000_000_000
SPREAD_NOISE = 1e-14  # a spread below this share of max(1, max |r|) counts as zero

METRIC_KEYS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "max_drawdown_duration_days",
    "win_rate",
    "avg_win",
    "avg_loss",
    "profit_factor",
    "expectancy",
    "n_trades",
    "turnover",
    "exposure",
    "final_equity",
)


def compute_metrics(
    equity: pd.Series,
    trades: pd.DataFrame,
    *,
    periods_per_year: float | None = None,
    turnover_notional: float = 0.0,
    exposure: pd.Series | None = None,
    risk_free: float = 0.0,
    initial: float | None = None,
) -> dict[str, float | int | None]:
    """Metrics of an equity curve and its round trips (definitions in the module docstring).

    ``equity``: account value per bar on a strictly increasing ``DatetimeIndex`` (naive
    means UTC), finite values. ``trades``: a :func:`~alphapulse.analytics.trades.round_trips`
    frame (only ``pnl`` is read). ``periods_per_year``: inferred from the index when None.
    ``risk_free``: annual rate. ``initial``: the value before the first bar (the base
    of total_return and cagr). Keys are in :data:`METRIC_KEYS` order.
    """
    index = _utc_index(equity)
    values = equity.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("equity must be finite")
    ts_ns = index.as_unit("ns").asi8
    ppy = _resolve_ppy(periods_per_year, equity.index)
    years = float(ts_ns[-1] - ts_ns[0]) / _NS_PER_YEAR
    returns = simple_returns(values)
    first = float(values[0]) if initial is None else float(initial)
    final = float(values[-1])
    growth = final / first if first > 0 else math.nan

    cagr = _cagr(growth, years)
    max_dd = float(drawdown(values).min())
    spans_bars, spans_days = drawdown_spans(values, ts_ns)
    out: dict[str, MetricValue] = {
        "total_return": growth - 1.0,
        "cagr": cagr,
        **_return_ratios(returns, ppy, risk_free),
        "calmar": cagr / -max_dd if max_dd < 0 else math.nan,
        "max_drawdown": max_dd,
        "max_drawdown_duration_bars": int(spans_bars.max(initial=0)),
        "max_drawdown_duration_days": float(spans_days.max(initial=0.0)),
        **trade_stats(trades),
        "turnover": _turnover(turnover_notional, values, years),
        "exposure": _exposure(exposure, index, values),
        "final_equity": final,
    }
    return {key: _json_value(out[key]) for key in METRIC_KEYS}


def simple_returns(values: FloatArray) -> FloatArray:
    """Per-bar simple returns; bars after a non-positive value are left out."""
    prev, cur = values[:-1], values[1:]
    keep = prev > 0
    result: FloatArray = cur[keep] / prev[keep] - 1.0
    return result


def trade_stats(trades: pd.DataFrame) -> dict[str, MetricValue]:
    """n_trades, win_rate, avg_win, avg_loss, profit_factor and expectancy of the
    positions' P&L (``trades.position_pnl``)."""
    pnl = position_pnl(trades)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    decided = len(wins) + len(losses)
    gross_loss = -float(losses.sum())
    return {
        "win_rate": len(wins) / decided if decided else None,
        "avg_win": float(wins.mean()) if len(wins) else None,
        "avg_loss": float(losses.mean()) if len(losses) else None,
        "profit_factor": float(wins.sum()) / gross_loss if gross_loss > 0 else None,
        "expectancy": float(pnl.mean()) if len(pnl) else None,
        "n_trades": len(pnl),
    }


def _return_ratios(returns: FloatArray, ppy: float | None, risk_free: float) -> dict[str, float]:
    """volatility, sharpe and sortino (NaN where undefined)."""
    nan = {"volatility": math.nan, "sharpe": math.nan, "sortino": math.nan}
    if ppy is None or len(returns) < 2:
        return nan
    scale = math.sqrt(ppy)
    excess = returns - ((1.0 + risk_free) ** (1.0 / ppy) - 1.0)
    std = float(np.std(returns, ddof=1))
    noise = SPREAD_NOISE * max(1.0, float(np.abs(returns).max()))
    mean = float(excess.mean())
    downside = math.sqrt(float(np.square(np.minimum(excess, 0.0)).sum()) / len(excess))
    return {
        "volatility": std * scale,
        "sharpe": mean / std * scale if std > noise else math.nan,
        "sortino": mean / downside * scale if downside > noise else math.nan,
    }


def _cagr(growth: float, years: float) -> float:
    """Compound annual growth over ``years``; NaN for no elapsed time (or no positive
    base), -1.0 for wealth at or below zero (ruin, as ``bootstrap.cagr_rows``)."""
    if not years > 0 or math.isnan(growth):
        return math.nan
    return float(growth ** (1.0 / years) - 1.0) if growth > 0 else -1.0


def _turnover(notional: float, values: FloatArray, years: float) -> float:
    """Traded notional per unit of average equity per year."""
    avg = float(values.mean())
    return notional / avg / years if years > 0 and avg > 0 else math.nan


def _exposure(exposure: pd.Series | None, index: pd.DatetimeIndex, values: FloatArray) -> float:
    """Mean of |gross exposure| / equity over the bars with positive equity."""
    if exposure is None:
        return math.nan
    aligned = _as_of(exposure, index)
    keep = values > 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(aligned[keep]) / values[keep]))


def _as_of(series: pd.Series, index: pd.DatetimeIndex) -> FloatArray:
    """``series`` sampled at ``index``: last value at or before each time, else 0."""
    src = series.sort_index()
    src_index = _as_utc(pd.DatetimeIndex(src.index))
    src_ns = src_index.as_unit("ns").asi8
    pos = np.searchsorted(src_ns, index.as_unit("ns").asi8, side="right") - 1
    vals = src.to_numpy(dtype=np.float64)
    result: FloatArray = np.where(pos >= 0, vals[np.maximum(pos, 0)], 0.0)
    return np.nan_to_num(result, nan=0.0)


def _resolve_ppy(ppy: float | None, index: pd.Index) -> float | None:
    """The given bars per year (must be > 0), else inferred (on the index's own wall
    clock) when there are two bars."""
    if ppy is not None:
        if not (ppy > 0 and math.isfinite(ppy)):
            raise ValueError(f"periods_per_year must be positive, got {ppy}")
        return float(ppy)
    return observed_periods_per_year(pd.DatetimeIndex(index)) if len(index) >= 2 else None


def _utc_index(equity: pd.Series) -> pd.DatetimeIndex:
    """The equity's index as a UTC ``DatetimeIndex``, checked non-empty and increasing."""
    if not isinstance(equity.index, pd.DatetimeIndex):
        raise TypeError("equity must have a DatetimeIndex")
    if len(equity) == 0:
        raise ValueError("equity is empty")
    index = _as_utc(equity.index)
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError("equity index must be strictly increasing")
    return index


def _as_utc(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Naive timestamps are read as UTC; aware ones are converted to it."""
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


def _json_value(value: MetricValue) -> MetricValue:
    """Plain Python ``int``/``float``; NaN and infinities become None."""
    if value is None or isinstance(value, int):
        return value
    number = float(value)
    return number if math.isfinite(number) else None
