"""One compiled pass per bar over the parents due a child: schedule target, participation
cap, minimum child size and the market/limit choice (the arithmetic of ``schedules.py``
and ``children.py``, operation for operation, so results are bit-identical).

Parent schedule state lives in per-symbol arrays (one working parent per symbol):
``book`` rows ``BOOK_ROWS``, ``times`` rows (start_ns, horizon_ns), ``curves`` the VWAP
cumulative shares (row ``sid``; ``has_curve[sid]`` 0 when the parent has none)."""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# book rows (per symbol)
QTY, BASE_FILLED, SCHED, BASE_VOLUME, KAPPA, SIDE, ALGO = range(7)
BOOK_ROWS = 7
# algorithm codes (the index in config.ALGOS)
MARKET, TWAP, VWAP, POV, IS = range(5)
# settings vector
RATE, MIN_NOTIONAL, SPREAD_BPS, PATIENCE_W, TIMEOUT, PASSIVE, LEFTOVER_MARKET, LOT = range(8)
SETTINGS = 8
_EPS = 1e-9  # sizing.round_to_lot's tolerance
RANGE_TO_SPREAD = 0.05  # children.RANGE_TO_SPREAD


@numba.njit(cache=True)
def _fraction(algo: int, f: float, kappa: float, has_curve: int, curve: FloatArray) -> float:
    f = min(max(f, 0.0), 1.0)
    if algo == IS:
        if kappa < 1e-6:
            return f
        return 1.0 - math.sinh(kappa * (1.0 - f)) / math.sinh(kappa)
    if algo == VWAP and has_curve:
        last = curve.shape[0] - 1
        x = f * last
        i = int(x)
        if i >= last:
            return curve[last]
        lo = curve[i]
        return (curve[i + 1] - lo) * (x - i) + lo
    return f


@numba.njit(cache=True)
def plan_children(
    due: FloatArray,
    ts_ns: int,
    ahead_ns: int,
    every: float,
    last_call: bool,
    book: FloatArray,
    times: IntArray,
    has_curve: npt.NDArray[np.int8],
    curves: FloatArray,
    market: FloatArray,
    last_prices: FloatArray,
    settings: FloatArray,
    out_qty: FloatArray,
    out_limit: FloatArray,
) -> None:
    """Child size (0: none now) and limit price (NaN: market) of each parent ``due[i]``
    [sid, filled] (units done) that has no working child; ``market`` is
    ``MarketState.s``.
    The child covers the schedule ``ahead_ns`` ahead (``every`` bars: the cap is ``every``
    bars' participation). The lot size must be a whole number (exact multiples)."""
    rate = settings[RATE]
    lot = settings[LOT]
    to_market = last_call and settings[LEFTOVER_MARKET] > 0
    for i in range(due.shape[0]):
        sid = int(due[i, 0])
        done = due[i, 1]
        out_qty[i] = 0.0
        out_limit[i] = np.nan
        algo = int(book[ALGO, sid])
        qty = book[QTY, sid]
        remaining = max(qty - done, 0.0)
        start = times[0, sid]
        horizon = times[1, sid]
        if algo == MARKET or to_market:
            target = qty
        elif algo == POV:
            printed = market[4, sid] - book[BASE_VOLUME, sid]
            target = book[BASE_FILLED, sid] + rate * max(printed, 0.0)
        else:
            f = (ts_ns + ahead_ns - start) / horizon
            frac = _fraction(algo, f, book[KAPPA, sid], has_curve[sid], curves[sid])
            target = book[BASE_FILLED, sid] + book[SCHED, sid] * frac
        want = target - done
        unlimited = algo in (MARKET, POV) or to_market
        expected = market[3, sid]
        cap = rate * expected * every if math.isfinite(expected) else math.inf
        q = min(want, remaining, math.inf if unlimited else cap)
        if not (q > 0) or not math.isfinite(q):
            continue
        lots = math.floor(abs(q) / lot + _EPS)
        if lots == 0:
            continue
        size = lots * lot
        last = last_prices[sid]
        ending = ts_ns + ahead_ns >= start + horizon
        min_units = settings[MIN_NOTIONAL] / last if last > 0 else 0.0
        room = math.floor(min(remaining, cap) / lot + _EPS) * lot  # in whole lots
        small = size < min(min_units, room) * (1.0 - 1e-9)
        if small and not (unlimited or ending or last_call):
            continue
        out_qty[i] = size
        behind = unlimited or want > cap or ending or last_call
        rng = market[2, sid]
        proxy = RANGE_TO_SPREAD * rng if math.isfinite(rng) else 0.0
        half = 0.5 * max(settings[SPREAD_BPS] * 1e-4, proxy)
        weight = settings[PATIENCE_W]
        if settings[PASSIVE] > 0 and not behind and weight > 0 and half > 0:
            var = market[1, sid]
            sigma = math.sqrt(var) if math.isfinite(var) else 0.0
            if not math.isfinite(sigma):
                sigma = 0.0
            if half > weight * sigma * math.sqrt(settings[TIMEOUT]):
                buy = book[SIDE, sid] > 0
                out_limit[i] = last * (1.0 - half) if buy else last * (1.0 + half)
