"""Numba kernels that replay the event engine for one symbol and many parameter sets.

Each kernel reproduces, bar for bar, what ``engine.runner.run_backtest`` does for a
single-symbol universe with ``fill_at: next_open``, a ``percent`` commission, a
``fixed_bps`` (or ``none``) slippage, ``lot_size: 1`` and no participation cap or latency:

- indicators: trailing means and sample standard deviations of the forward-filled close
  summed exactly as numpy sums a ``[w, 1]`` column (pairwise summation), so the values
  are bit-identical to ``strategies.indicators``; comparisons use ``TIE_TOL``. The SMA
  kernel reads O(1)-per-row rolling means with a rigorous error bound instead and
  recomputes the exact (pairwise) means only where the bound leaves a comparison
  undecided, so its signals are still exactly the engine's;
- planner (``engine.planner``): a target is acted on only when it changes (or when a flat
  target meets a position), and then first cancels the working order;
- venue (``execution.venue``): a market order fills at the open of the next row whose
  open/high/low/close are all present, at ``open x (1 +/- bps x 1e-4)``; a buy with a
  cash budget is sized with ``sizing.all_in`` at that price, fee = ``rate x price x qty``;
  buys are capped by cash and sells by the long position (the venue's own compiled
  ``execution.fillterms.fill_terms`` decides each fill);
- ledger: ``cash -= signed_qty x price + fee``; equity = cash + position x last close.

Inputs are one symbol's rows: ``open_``, ``close`` (NaN = no bar), ``prices`` (the close
forward-filled) and ``fillable`` (all of open/high/low/close present). Parameter sets are
simulated in parallel (``prange``), each writing only its own output slots, so results do
not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from alphapulse.execution.commissions import percent_params
from alphapulse.execution.fillterms import fill_terms
from alphapulse.execution.slippage import fixed_bps_params
from alphapulse.strategies.indicators import TIE_TOL

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Pending-order kinds of the simulated venue (at most one order per symbol is working).
_NONE = 0
_BUY_CASH = 1  # flat -> long: market buy with a cash budget, sized at the fill
_BUY_QTY = 2  # market buy of a fixed quantity
_SELL_QTY = 3  # market sell of a fixed quantity

_PLAN_EPS = 1e-12  # engine.planner._EPS
_LOT_EPS = 1e-9  # execution.sizing._EPS
_FLAT_EPS = 1e-12  # portfolio.ledger: |position| below this is flat
_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE


@njit(cache=True, error_model="numpy")
def _block_sum(x: FloatArray, start: int, n: int) -> float:
    """numpy's pairwise-sum leaf (n <= 128): eight interleaved partial sums."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += x[i]
        return res
    r0, r1, r2, r3 = x[start], x[start + 1], x[start + 2], x[start + 3]
    r4, r5, r6, r7 = x[start + 4], x[start + 5], x[start + 6], x[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = start + i
        r0 += x[j]
        r1 += x[j + 1]
        r2 += x[j + 2]
        r3 += x[j + 3]
        r4 += x[j + 4]
        r5 += x[j + 5]
        r6 += x[j + 6]
        r7 += x[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += x[start + i]
        i += 1
    return res


@njit(cache=True, error_model="numpy")
def _split(n: int) -> int:
    n2 = n // 2
    return n2 - n2 % 8


@njit(cache=True, error_model="numpy")
def _tree_sum(x: FloatArray, start: int, n: int) -> float:
    """numpy's recursive pairwise sum, evaluated with an explicit stack (numba
    recursion does not survive ``cache=True``)."""
    cap = 128
    t_start = np.empty(cap, dtype=np.int64)
    t_n = np.empty(cap, dtype=np.int64)  # n < 0: combine the top two values
    vals = np.empty(cap)
    top, nv = 1, 0
    t_start[0], t_n[0] = start, n
    while top > 0:
        top -= 1
        s, m = t_start[top], t_n[top]
        if m < 0:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        elif m <= _PW_BLOCK:
            vals[nv] = _block_sum(x, s, m)
            nv += 1
        else:
            m2 = _split(m)
            t_n[top] = -1  # combine after both halves
            t_start[top + 1], t_n[top + 1] = s + m2, m - m2
            t_start[top + 2], t_n[top + 2] = s, m2
            top += 3
    return vals[0]


@njit(cache=True, error_model="numpy")
def pairwise_sum(x: FloatArray, start: int, n: int) -> float:
    """Sum of ``x[start:start + n]`` in numpy's pairwise order (bit-identical to
    ``np.add.reduce`` over a contiguous run)."""
    if n <= _PW_BLOCK:
        return _block_sum(x, start, n)
    n2 = _split(n)
    n3 = n - n2
    left = _block_sum(x, start, n2) if n2 <= _PW_BLOCK else _tree_sum(x, start, n2)
    right = _block_sum(x, start + n2, n3) if n3 <= _PW_BLOCK else _tree_sum(x, start + n2, n3)
    return left + right


@njit(cache=True, error_model="numpy", parallel=True)
def rolling_means(prices: FloatArray, windows: IntArray) -> FloatArray:
    """``out[k, t]`` = mean of ``prices[t - w + 1 : t + 1]`` with ``w = windows[k]`` (NaN
    while the window is incomplete or holds a NaN), as ``indicators.sma`` computes it."""
    n_w, n = windows.shape[0], prices.shape[0]
    out = np.full((n_w, n), np.nan)
    for k in prange(n_w):
        w = windows[k]
        for t in range(w - 1, n):
            out[k, t] = pairwise_sum(prices, t - w + 1, w) / w
    return out


@njit(cache=True, error_model="numpy")
def rolling_means_bounded(
    prices: FloatArray, windows: IntArray, period: int = 32
) -> tuple[FloatArray, FloatArray]:
    """Rolling means updated in O(1) per row (``(s + new) - old``), restarted from the
    exact pairwise sum every ``period`` rows, and ``err[k, t]``: a bound on their distance
    from :func:`rolling_means`. Needs ``prices`` >= 0 where not NaN and NaN only before
    the first price (as forward-filled closes are).

    Bound, with ``hi`` the largest partial sum in a block and ``D`` the rounding depth of
    numpy's pairwise sum (<= 25 in a leaf of <= 128, ``D <= 26 + ceil(log2(w / 128))``): the
    restart equals the engine's sum, both are within ``D x eps x sum`` of the true sum,
    each later row adds two roundings of at most ``eps / 2 x hi``, and each division by
    ``w`` one more; so ``|mean - exact| <= (2 D + period + 1) x eps x hi / w``. Twice that
    is reported."""
    n_w, n = windows.shape[0], prices.shape[0]
    means = np.full((n_w, n), np.nan)
    err = np.zeros((n_w, n))
    first = 0
    while first < n and math.isnan(prices[first]):
        first += 1
    eps = np.finfo(np.float64).eps
    for k in range(n_w):  # O(1) per row: cheaper than a parallel region
        w = windows[k]
        depth = 26.0 + math.ceil(math.log2(max(w, _PW_BLOCK) / _PW_BLOCK))
        coef = 2.0 * (2.0 * depth + period + 1.0) * eps / w
        t0 = first + w - 1
        while t0 < n:
            stop = min(t0 + period, n)
            s = pairwise_sum(prices, t0 - w + 1, w)
            hi = s
            means[k, t0] = s / w
            for t in range(t0 + 1, stop):
                s = s + prices[t]
                hi = max(hi, s)
                s = s - prices[t - w]
                means[k, t] = s / w
            bound = coef * hi
            for t in range(t0, stop):
                err[k, t] = bound
            t0 = stop
    return means, err


@njit(cache=True, error_model="numpy", parallel=True)
def rolling_zscores(prices: FloatArray, windows: IntArray) -> FloatArray:
    """``out[k, t]`` = (price - mean) / sample std over the trailing ``windows[k]`` rows,
    as ``strategies.mean_reversion`` computes it (NaN while incomplete and over a window
    of equal prices, as ``signals.zscores``)."""
    n_w, n = windows.shape[0], prices.shape[0]
    out = np.full((n_w, n), np.nan)
    for k in prange(n_w):
        w = windows[k]
        dev = np.empty(w)
        for t in range(w - 1, n):
            s = t - w + 1
            if not prices[s : t + 1].max() > prices[s : t + 1].min():
                continue
            mean = pairwise_sum(prices, s, w) / w
            for i in range(w):
                d = prices[s + i] - mean
                dev[i] = d * d
            std = math.sqrt(pairwise_sum(dev, 0, w) / max(w - 1, 0))
            out[k, t] = (prices[t] - mean) / std
    return out


@njit(cache=True, error_model="numpy")
def simulate(
    open_: FloatArray,
    close: FloatArray,
    fillable: BoolArray,
    go_long: BoolArray,
    go_flat: BoolArray,
    gated: bool,
    initial_cash: float,
    rate: float,
    bps: float,
    curve: FloatArray,
) -> tuple[float, int, float]:
    """One long-only, all-in strategy run; returns (final equity, fills, fees).

    The signal at row t is +1 where ``go_long[t]``, else 0 where ``go_flat[t]``, else none;
    with ``gated`` a +1 needs a flat position and a 0 a long one (mean reversion reads
    its position). ``curve`` (length 0 to skip) receives the equity at each row."""
    n = open_.shape[0]
    record = curve.shape[0] == n
    comm = percent_params(rate)  # the venue's PercentCommission(rate)
    slip = fixed_bps_params(bps)  # and FixedBpsSlippage(bps)
    cash = initial_cash
    pos = 0.0
    last_px = np.nan
    last_w = np.nan
    pend = _NONE
    amount = 0.0  # cash budget (_BUY_CASH) or quantity of the working order
    n_fills = 0
    fees = 0.0
    equity = cash
    for t in range(n):
        # 1. the venue fills the working order at this row's open
        if pend != _NONE and fillable[t]:
            side = -1 if pend == _SELL_QTY else 1
            sized = pend == _BUY_CASH  # a cash budget, sized at the fill
            _, want, price, fee, _ = fill_terms(
                comm, slip, 1.0, False, side, open_[t], False, math.nan,
                amount if sized else math.nan, 0.0 if sized else amount, 0.0,
                math.nan, 0.0, math.nan, math.nan, cash, pos,
            )  # fmt: skip
            if want > 0:
                q = side * want
                cash -= q * price + fee
                fees += fee
                new_pos = pos + q
                pos = 0.0 if abs(new_pos) < _FLAT_EPS else new_pos
                if math.isnan(last_px):
                    last_px = price
                n_fills += 1
            pend = _NONE  # filled, or rejected (insufficient cash / nothing to sell)
        # 2. the ledger marks to the close
        if not math.isnan(close[t]):
            last_px = close[t]
        equity = cash + (pos * last_px if pos != 0.0 else 0.0)
        if record:
            curve[t] = equity
        # 3. strategy -> target -> planner -> order
        sig = np.nan
        if gated:
            if pos == 0.0 and go_long[t]:
                sig = 1.0
            elif pos > 0.0 and go_flat[t]:
                sig = 0.0
        elif go_long[t]:
            sig = 1.0
        elif go_flat[t]:
            sig = 0.0
        if math.isnan(sig):
            continue
        changed = math.isnan(last_w) or abs(sig - last_w) > _PLAN_EPS
        stale_flat = abs(sig) <= _PLAN_EPS and pos != 0.0
        if not (changed or stale_flat):
            continue  # an unchanged target leaves the working order alone
        pend = _NONE  # a re-planned symbol's working order is replaced
        last_w = sig
        if abs(sig) <= _PLAN_EPS:
            if pos != 0.0:
                pend = _SELL_QTY if pos > 0 else _BUY_QTY
                amount = abs(pos)
        elif math.isfinite(last_px) and last_px > 0 and equity > 0:
            budget = abs(sig) * equity
            if pos == 0.0 and sig > 0:
                pend = _BUY_CASH
                amount = budget
            else:
                delta = math.copysign(budget / last_px, sig) - pos
                qty = math.floor(abs(delta) / 1.0 + _LOT_EPS) * 1.0
                if qty > 0:
                    pend = _BUY_QTY if delta > 0 else _SELL_QTY
                    amount = qty
        else:  # not sizable yet: planned again (engine.planner's _UNSIZED)
            last_w = np.nan
    return equity, n_fills, fees


@njit(cache=True, error_model="numpy")
def _state(a: float, b: float) -> float:
    """``indicators.compare`` for two scalars: +1, -1, 0 (tie within TIE_TOL) or NaN."""
    d = a - b
    if math.isnan(d):
        return np.nan
    tol = TIE_TOL * max(abs(a), abs(b))
    if d > tol:
        return 1.0
    if d < -tol:
        return -1.0
    return 0.0


_UNDECIDED = 2.0


@njit(cache=True, error_model="numpy")
def _state_bounded(a: float, b: float, err_a: float, err_b: float) -> float:
    """:func:`_state` of the exact values, given approximations ``a``, ``b`` within
    ``err_a``, ``err_b`` of them; ``_UNDECIDED`` when the bounds do not settle it."""
    d = a - b
    if math.isnan(d):
        return np.nan
    m = max(abs(a), abs(b))
    tol = TIE_TOL * m
    margin = 2.0 * (err_a + err_b) + 16.0 * np.finfo(np.float64).eps * m
    if d > tol + margin:
        return 1.0
    if d < -tol - margin:
        return -1.0
    if abs(d) < tol - margin:
        return 0.0
    return _UNDECIDED


@njit(cache=True, error_model="numpy", parallel=True)
def sma_cross_sweep(
    open_: FloatArray,
    close: FloatArray,
    fillable: BoolArray,
    prices: FloatArray,
    windows: IntArray,
    means: FloatArray,
    err: FloatArray,
    fast_row: IntArray,
    slow_row: IntArray,
    initial_cash: float,
    rate: float,
    bps: float,
    curves: FloatArray,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """SMA crossover for pairs ``p``: fast window ``windows[fast_row[p]]``, slow window
    ``windows[slow_row[p]]``, whose means are ``means[row]`` within ``err[row]`` of the
    exact ones (:func:`rolling_means_bounded`, or :func:`rolling_means` with ``err`` 0).
    Returns per pair final equity, fill count and total fees; fills ``curves[p]`` when it
    has shape [P, T] (pass shape [0, 0] to skip)."""
    n_p, n = fast_row.shape[0], open_.shape[0]
    final = np.empty(n_p)
    n_fills = np.empty(n_p, dtype=np.int64)
    fees = np.empty(n_p)
    record = curves.shape[0] == n_p and curves.shape[1] == n
    for p in prange(n_p):
        fr, sr = fast_row[p], slow_row[p]
        wf, ws = windows[fr], windows[sr]
        up = np.zeros(n, dtype=np.bool_)
        down = np.zeros(n, dtype=np.bool_)
        prev = np.nan
        for t in range(n):
            now = _state_bounded(means[fr, t], means[sr, t], err[fr, t], err[sr, t])
            if now == _UNDECIDED:
                fast = pairwise_sum(prices, t - wf + 1, wf) / wf
                slow = pairwise_sum(prices, t - ws + 1, ws) / ws
                now = _state(fast, slow)
            up[t] = now > 0 and prev <= 0
            down[t] = now < 0 and prev >= 0
            prev = now
        curve = curves[p] if record else np.empty(0)
        final[p], n_fills[p], fees[p] = simulate(
            open_, close, fillable, up, down, False, initial_cash, rate, bps, curve
        )
    return final, n_fills, fees


@njit(cache=True, error_model="numpy", parallel=True)
def mean_reversion_sweep(
    open_: FloatArray,
    close: FloatArray,
    fillable: BoolArray,
    zscores: FloatArray,
    z_row: IntArray,
    entry_z: FloatArray,
    exit_z: FloatArray,
    initial_cash: float,
    rate: float,
    bps: float,
    curves: FloatArray,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Long-only mean reversion for parameter sets ``p``: z-score ``zscores[z_row[p]]``
    (rows of :func:`rolling_zscores`), enter when z < -entry_z[p] while flat, exit when
    z > -exit_z[p] while long. Outputs as :func:`sma_cross_sweep`."""
    n_p, n = z_row.shape[0], open_.shape[0]
    final = np.empty(n_p)
    n_fills = np.empty(n_p, dtype=np.int64)
    fees = np.empty(n_p)
    record = curves.shape[0] == n_p and curves.shape[1] == n
    for p in prange(n_p):
        z = zscores[z_row[p]]
        enter = z < -entry_z[p]
        leave = z > -exit_z[p]
        curve = curves[p] if record else np.empty(0)
        final[p], n_fills[p], fees[p] = simulate(
            open_, close, fillable, enter, leave, True, initial_cash, rate, bps, curve
        )
    return final, n_fills, fees
