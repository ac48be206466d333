"""Tables behind the tearsheet charts: drawdown periods, period returns, rolling
statistics, trade streaks and excursions."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.analytics.drawdown import drawdown

FloatArray = npt.NDArray[np.float64]


def returns(equity: pd.Series) -> pd.Series:
    """Simple per-bar returns (the first bar dropped); as ``metrics.simple_returns``, a bar
    after a non-positive equity is left out (its ratio has no meaning as a return)."""
    prev = equity.shift(1)
    r = (equity / prev - 1.0)[prev > 0]
    return r.replace([np.inf, -np.inf], np.nan).dropna()


def underwater(equity: pd.Series) -> pd.Series:
    return pd.Series(drawdown(equity.to_numpy(dtype=np.float64)), index=equity.index)


def worst_drawdowns(equity: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` deepest drawdowns: peak, trough and recovery times, depth, length in days."""
    dd = underwater(equity).to_numpy()
    idx = pd.DatetimeIndex(equity.index)
    under = np.concatenate(([False], dd < 0, [False])).astype(np.int8)
    starts = np.flatnonzero(np.diff(under) == 1)
    stops = np.flatnonzero(np.diff(under) == -1)
    rows = []
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        trough = a + int(np.argmin(dd[a:b]))
        peak = max(a - 1, 0)
        recovered = b < len(dd)
        end = idx[b] if recovered else None
        rows.append(
            {
                "peak": idx[peak],
                "trough": idx[trough],
                "recovery": end,
                "depth": float(dd[trough]),
                "days": float((idx[min(b, len(dd) - 1)] - idx[peak]).total_seconds() / 86400),
            }
        )
    frame = pd.DataFrame(rows, columns=["peak", "trough", "recovery", "depth", "days"])
    return frame.sort_values("depth").head(n).reset_index(drop=True)


def period_returns(equity: pd.Series, freq: str) -> pd.Series:
    """Compounded return per calendar period (``ME`` months, ``YE`` years); NaN for a
    period that starts from a non-positive equity."""
    last = equity.resample(freq).last().dropna()
    prev = last.shift(1)
    prev.iloc[0] = float(equity.iloc[0])
    return (last / prev - 1.0).where(prev > 0).rename("return")


def monthly_table(equity: pd.Series) -> pd.DataFrame:
    """Years x months (1..12) of monthly returns."""
    m = period_returns(equity, "ME")
    idx = pd.DatetimeIndex(m.index)
    frame = pd.DataFrame({"year": idx.year, "month": idx.month, "r": m.to_numpy()})
    return frame.pivot(index="year", columns="month", values="r").reindex(columns=range(1, 13))


def rolling_stats(
    r: pd.Series, window: int, ppy: float, bench: pd.Series | None = None
) -> pd.DataFrame:
    """Rolling annualised Sharpe and volatility, and beta against ``bench`` returns."""
    roll = r.rolling(window, min_periods=window)
    std = roll.std()
    out = pd.DataFrame(
        {
            "sharpe": roll.mean() / std.where(std > 0) * math.sqrt(ppy),
            "volatility": std * math.sqrt(ppy),
        }
    )
    if bench is not None:
        b = bench.reindex(r.index)
        cov = r.rolling(window, min_periods=window).cov(b)
        out["beta"] = cov / b.rolling(window, min_periods=window).var()
    return out


def streaks(pnl: pd.Series) -> tuple[int, int]:
    """Longest run of winning and of losing trades (in the given order)."""
    best = {1: 0, -1: 0}
    run, prev = 0, 0
    for s in np.sign(pnl.to_numpy()):
        run = run + 1 if s == prev and s != 0 else (1 if s != 0 else 0)
        prev = int(s)
        if prev in best:
            best[prev] = max(best[prev], run)
    return best[1], best[-1]


def monthly_turnover(fills: pd.DataFrame, equity: pd.Series) -> pd.Series:
    """Traded notional per month over the month's mean equity (NaN where that is not
    positive)."""
    if not len(fills):
        return pd.Series(dtype=float)
    notional = (fills["quantity"] * fills["price"]).abs()
    traded = pd.Series(notional.to_numpy(), index=pd.DatetimeIndex(fills["timestamp"]))
    per_month = traded.resample("ME").sum()
    mean_eq = equity.resample("ME").mean().reindex(per_month.index)
    return (per_month / mean_eq).where(mean_eq > 0)


def monthly_costs(fills: pd.DataFrame) -> pd.DataFrame:
    """Fees and slippage (cash) summed per month; slippage 0 when fills have no column."""
    slip = fills["slippage"].to_numpy(dtype=float) if "slippage" in fills else 0.0
    frame = pd.DataFrame(
        {"fees": fills["fee"].to_numpy(dtype=float), "slippage": slip},
        index=pd.DatetimeIndex(fills["timestamp"]),
    )
    return frame.resample("ME").sum()


def excursions(trades: pd.DataFrame, prices: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Maximum adverse and favourable excursion of each trade, as returns from its entry
    price, from the symbol's lows and highs between entry and exit (trades whose symbol
    has no prices, or no bar in that span, are left out)."""
    parts = []
    for symbol, group in trades.groupby(trades["symbol"].astype(str), sort=False):
        bars = prices.get(str(symbol))
        if bars is None or not len(bars):
            continue
        ts = pd.DatetimeIndex(bars.index).as_unit("ns").asi8
        lo_i = np.searchsorted(ts, _ns(group["entry_time"]), side="left")
        hi_i = np.searchsorted(ts, _ns(group["exit_time"]), side="right")
        ok = hi_i > lo_i
        if not ok.any():
            continue
        lows = _span_reduce(bars["low"].to_numpy(dtype=np.float64), lo_i[ok], hi_i[ok], np.fmin)
        highs = _span_reduce(bars["high"].to_numpy(dtype=np.float64), lo_i[ok], hi_i[ok], np.fmax)
        g = group[ok]
        sign = np.where(g["side"].astype(str).to_numpy() == "long", 1.0, -1.0)
        entry = g["entry_price"].to_numpy(dtype=np.float64)
        worst = np.where(sign > 0, lows, highs)
        best = np.where(sign > 0, highs, lows)
        parts.append(
            pd.DataFrame(
                {
                    "mae": sign * (worst / entry - 1.0),
                    "mfe": sign * (best / entry - 1.0),
                    "pnl": g["pnl"].to_numpy(dtype=np.float64),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["mae", "mfe", "pnl"])
    return pd.concat(parts, ignore_index=True)


def _ns(col: pd.Series) -> npt.NDArray[np.int64]:
    return pd.DatetimeIndex(pd.to_datetime(col, utc=True)).as_unit("ns").asi8


def _span_reduce(
    x: FloatArray, start: npt.NDArray[np.int64], stop: npt.NDArray[np.int64], op: np.ufunc
) -> FloatArray:
    """``op`` over ``x[start[i]:stop[i]]`` for every i (all spans non-empty), vectorised
    with ``reduceat`` on interleaved bounds (a sentinel keeps ``stop`` in range)."""
    padded = np.append(x, np.nan)
    idx = np.empty(2 * len(start), dtype=np.int64)
    idx[0::2], idx[1::2] = start, stop
    out: FloatArray = op.reduceat(padded, idx)[0::2]
    return out
