"""The per-bar detector kernel (numba): one cross-section [n_symbols] in, scores out.

Every score at bar t uses bars up to t only (the scales are estimated from bars before
t, then updated with t). The batch path runs the same step over [n_bars, n_symbols],
so batch and bar-by-bar give equal values by construction (``tests/anomaly``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

#: Kernel score rows, in this order (``pattern`` is scored outside the kernel).
KERNEL_TYPES = ("price_jump", "gap", "volume_spike", "stale_price", "bad_tick", "divergence")
TYPES = (*KERNEL_TYPES, "pattern")
N_KERNEL = len(KERNEL_TYPES)
N_FEATURES = 4  # return z, gap z, volume z, residual (beta-adjusted) z
FEATURE_CLIP = 50.0

# state rows of the [N_STATE, n] array
(
    S_LAST,  # last valid close
    S_LAST2,  # the valid close before it
    S_VAR,  # EWMA variance of log returns
    S_NR,  # returns seen
    S_LASTRET,  # last log return
    S_LASTZ,  # its z-score
    S_RUN,  # bars the close has not changed
    S_STALEREP,  # stale levels already reported in this run
    S_COV,  # EWMA of r * m
    S_VARE,  # EWMA variance of beta residuals
    S_NE,  # residuals seen
) = range(11)
N_STATE = 11
# params vector
P_ALPHA, P_MINP, P_WINSOR, P_REVERT, P_ACTIVE, P_BTLOW = range(6)
N_PARAMS = 6


def new_state(n: int, n_slots: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fresh state: per symbol, per (volume slot, symbol), and the market scalars."""
    s = np.zeros((N_STATE, n))
    s[S_LAST] = np.nan
    s[S_LAST2] = np.nan
    s[S_LASTRET] = np.nan
    s[S_LASTZ] = np.nan
    vol = np.zeros((3, n_slots, n))  # mean, variance, count of log1p(volume)
    market = np.zeros(2)  # EWMA variance of the market return, count
    return s, vol, market


@njit(cache=True, inline="always")
def _rate(alpha: float, count: float) -> float:
    return max(alpha, 1.0 / (count + 1.0))


@njit(cache=True, inline="always")
def _clip(x: float, lim: float) -> float:
    return min(max(x, -lim), lim)


@njit(cache=True, error_model="numpy")
def _market(ret: FloatArray) -> float:
    vals = ret[np.isfinite(ret)]
    return np.median(vals) if vals.size >= 3 else np.nan


@njit(cache=True, error_model="numpy")
def step(
    o: FloatArray,
    c: FloatArray,
    v: FloatArray,
    slot: int,
    state: FloatArray,
    vol: FloatArray,
    market: FloatArray,
    params: FloatArray,
    stale_levels: FloatArray,
    score: FloatArray,
    v1: FloatArray,
    v2: FloatArray,
    feat: FloatArray,
    mk: FloatArray,
) -> None:
    """Score one bar into ``score``/``v1``/``v2`` [N_KERNEL, n], ``feat`` [n, F] and the
    market move ``mk`` (|z|, return, sigma of the cross-sectional median return; NaN =
    nothing), then fold the bar into the state."""
    n = c.size
    alpha, minp, wz = params[P_ALPHA], params[P_MINP], params[P_WINSOR]
    score[:] = np.nan
    v1[:] = np.nan
    v2[:] = np.nan
    feat[:] = np.nan
    ret = np.full(n, np.nan)
    moved = 0
    traded = 0
    for i in range(n):
        if np.isfinite(c[i]) and c[i] > 0:
            traded += 1
            last = state[S_LAST, i]
            if np.isfinite(last):
                ret[i] = np.log(c[i] / last)
                if c[i] != last:
                    moved += 1
    m = _market(ret)
    var_m, n_m = market[0], market[1]
    zm = m / np.sqrt(var_m) if n_m >= minp and var_m > 0 else np.nan
    mk[:] = np.nan
    if np.isfinite(zm):
        mk[0] = abs(zm)
        mk[1] = np.expm1(m)
        mk[2] = np.sqrt(var_m)
    for i in range(n):
        ci = c[i]
        if not (np.isfinite(ci) and ci > 0):
            continue
        last = state[S_LAST, i]
        nr = state[S_NR, i]
        sd = np.sqrt(state[S_VAR, i])
        ready = nr >= minp and sd > 0
        r = ret[i]
        z = r / sd if ready and np.isfinite(r) else np.nan
        # opening gap
        zg = np.nan
        if ready and np.isfinite(o[i]) and o[i] > 0 and np.isfinite(last):
            g = np.log(o[i] / last)
            zg = g / sd
            score[1, i] = abs(zg)
            v1[1, i] = np.expm1(g)
            v2[1, i] = sd
        # bad tick: the previous bar jumped and this bar undoes it
        bad = False
        lz, lr, last2 = state[S_LASTZ, i], state[S_LASTRET, i], state[S_LAST2, i]
        known = np.isfinite(lz) and np.isfinite(r) and np.isfinite(last2)
        if known and r * lr < 0 and abs(np.log(ci / last2)) <= params[P_REVERT] * abs(lr):
            score[4, i] = abs(lz)
            v1[4, i] = last
            v2[4, i] = ci
            bad = abs(lz) >= params[P_BTLOW]
        if bad:  # the open is measured from the bad print: no gap either
            score[1, i] = np.nan
            v1[1, i] = np.nan
            v2[1, i] = np.nan
        if np.isfinite(z) and not bad:
            score[0, i] = abs(z)
            v1[0, i] = np.expm1(r)
            v2[0, i] = sd
        # volume against its (slot) baseline
        zv = np.nan
        vi = v[i]
        if np.isfinite(vi) and vi >= 0:
            lv = np.log1p(vi)
            mu, var, cnt = vol[0, slot, i], vol[1, slot, i], vol[2, slot, i]
            sdv = np.sqrt(var)
            if cnt >= minp and sdv > 0:
                zv = (lv - mu) / sdv
                if zv > 0:
                    score[2, i] = zv
                    v1[2, i] = vi
                    v2[2, i] = np.expm1(mu)
            dev = lv - mu if cnt > 0 else 0.0
            if cnt >= minp and sdv > 0:
                dev = _clip(dev, wz * sdv)
            a = _rate(alpha, cnt)
            vol[0, slot, i] = mu + a * dev if cnt > 0 else lv
            vol[1, slot, i] = (1 - a) * var + a * dev * dev if cnt > 0 else 0.0
            vol[2, slot, i] = cnt + 1
        # stale price while the others trade
        if np.isfinite(last) and ci == last:
            state[S_RUN, i] += 1
        else:
            state[S_RUN, i] = 0
            state[S_STALEREP, i] = 0
        others = traded - 1
        frac = (moved / others) if others > 0 else 1.0
        run = state[S_RUN, i]
        if run > 0 and frac >= params[P_ACTIVE]:
            k = 0
            while k < stale_levels.size and run >= stale_levels[k]:
                k += 1
            if k > state[S_STALEREP, i]:
                state[S_STALEREP, i] = k
                score[3, i] = run
                v1[3, i] = ci
                v2[3, i] = frac
        # divergence: against the market beyond what beta explains
        ze = np.nan
        if np.isfinite(r) and np.isfinite(m):
            beta = state[S_COV, i] / var_m if n_m >= minp and var_m > 0 else 0.0
            e = r - beta * m
            sde = np.sqrt(state[S_VARE, i])
            if state[S_NE, i] >= minp and sde > 0:
                ze = e / sde
                if r * m < 0 and abs(zm) >= 1.0:
                    score[5, i] = abs(ze)
                    v1[5, i] = np.expm1(r)
                    v2[5, i] = np.expm1(m)
                e = _clip(e, wz * sde)
            a = _rate(alpha, state[S_NE, i])
            state[S_VARE, i] = (1 - a) * state[S_VARE, i] + a * e * e
            state[S_NE, i] += 1
            rc = _clip(r, wz * sd) if ready else r
            mc = _clip(m, wz * np.sqrt(var_m)) if n_m >= minp and var_m > 0 else m
            state[S_COV, i] = (1 - a) * state[S_COV, i] + a * rc * mc
        # pattern features
        if np.isfinite(z) and np.isfinite(zg) and np.isfinite(zv):
            feat[i, 0] = _clip(z, FEATURE_CLIP)
            feat[i, 1] = _clip(zg, FEATURE_CLIP)
            feat[i, 2] = _clip(zv, FEATURE_CLIP)
            feat[i, 3] = _clip(ze, FEATURE_CLIP) if np.isfinite(ze) else 0.0
        # fold the return into the scale
        if np.isfinite(r):
            rc = _clip(r, wz * sd) if ready else r
            a = _rate(alpha, nr)
            state[S_VAR, i] = (1 - a) * state[S_VAR, i] + a * rc * rc
            state[S_NR, i] = nr + 1
            state[S_LASTRET, i] = r
            state[S_LASTZ, i] = z
        state[S_LAST2, i] = last
        state[S_LAST, i] = ci
    if np.isfinite(m):
        mc = _clip(m, wz * np.sqrt(var_m)) if n_m >= minp and var_m > 0 else m
        a = _rate(alpha, n_m)
        market[0] = (1 - a) * var_m + a * mc * mc
        market[1] = n_m + 1


@njit(cache=True, error_model="numpy")
def run_batch(
    o: FloatArray,
    c: FloatArray,
    v: FloatArray,
    slots: npt.NDArray[np.int64],
    state: FloatArray,
    vol: FloatArray,
    market: FloatArray,
    params: FloatArray,
    stale_levels: FloatArray,
    score: FloatArray,
    v1: FloatArray,
    v2: FloatArray,
    feat: FloatArray,
    mk: FloatArray,
) -> None:
    """``step`` over every row of [T, n] arrays into [T, N_KERNEL, n] / [T, n, F] / [T, 3]."""
    for t in range(c.shape[0]):
        step(
            o[t],
            c[t],
            v[t],
            slots[t],
            state,
            vol,
            market,
            params,
            stale_levels,
            score[t],
            v1[t],
            v2[t],
            feat[t],
            mk[t],
        )


@njit(cache=True, error_model="numpy")
def iforest_scores(
    x: FloatArray,
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    feature: npt.NDArray[np.int64],
    threshold: FloatArray,
    leaf_depth: FloatArray,
    roots: npt.NDArray[np.int64],
    norm: float,
) -> FloatArray:
    """IsolationForest anomaly scores 2^(-E[h(x)] / c(psi)) of rows ``x`` from the
    fitted trees flattened into one node array (``roots``: each tree's first node;
    ``leaf_depth``: depth plus the average path length of the leaf's samples)."""
    out = np.full(x.shape[0], np.nan)
    n_trees = roots.size
    for r in range(x.shape[0]):
        if not np.isfinite(x[r, 0]):
            continue
        total = 0.0
        for k in range(n_trees):
            node = roots[k]
            while left[node] >= 0:
                node = left[node] if x[r, feature[node]] <= threshold[node] else right[node]
            total += leaf_depth[node]
        out[r] = 2.0 ** (-(total / n_trees) / norm)
    return out
