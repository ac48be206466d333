"""Volatility regimes: the percentile of realised volatility in its own trailing history,
with hysteresis (enter high-vol at ``enter``, leave it only below ``exit``)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from alphapulse.regimes.base import Detector, FloatArray, RegimeSeries, series_from_states

LABELS = ("calm", "high_vol")
TIE = 1e-9  # vols closer than this (relative) rank as equal


def realised_vol(r: FloatArray, window: int) -> FloatArray:
    """Root mean square of the last ``window`` log returns (NaN until all are known)."""
    out = np.full(len(r), np.nan)
    if len(r) >= window:
        out[window - 1 :] = np.sqrt(np.mean(sliding_window_view(r, window) ** 2, axis=1))
    return out


def rv_last(buf: list[float], window: int) -> float:
    if len(buf) < window:
        return np.nan
    return float(np.sqrt(np.mean(np.asarray(buf[-window:]) ** 2)))


def _pct(hist: FloatArray, x: float, min_history: int) -> float:
    """Rank of ``x`` (one of ``hist``) over the finite values: ties (within ``TIE``,
    relative: rounding of equal vols) take the lowest rank, so a flat stretch or a
    constant vol is calm rather than ranked by rounding noise."""
    ok = hist[np.isfinite(hist)]
    if not np.isfinite(x) or len(ok) < min_history:
        return np.nan
    return float((np.count_nonzero(ok < x * (1.0 - TIE)) + 1) / len(ok))


def next_state(cur: int, q: float, enter: float, exit_: float) -> int:
    """Hysteresis: high (1) from ``q >= enter`` until ``q <= exit_``; NaN keeps ``cur``."""
    if q != q:
        return cur
    return 1 if (q >= enter or (cur == 1 and q > exit_)) else 0


class VolRegime(Detector):
    """calm / high_vol from the percentile of ``window``-bar realised vol among the last
    ``lookback`` values (at least ``min_history``); p_high_vol is that percentile."""

    labels = LABELS

    def __init__(
        self,
        window: int = 20,
        lookback: int = 756,
        min_history: int = 60,
        enter: float = 0.8,
        exit: float = 0.6,
    ) -> None:
        super().__init__()
        if not 0 < exit < enter <= 1:
            raise ValueError("exit must be below enter, both in (0, 1]")
        self.window, self.lookback, self.min_history = window, lookback, min_history
        self.enter, self.exit = enter, exit
        self._r: list[float] = []
        self._rv: list[float] = []

    def _step(self, r: float) -> tuple[int, FloatArray]:
        self._r.append(r)
        rv = rv_last(self._r, self.window)
        self._rv.append(rv)
        q = _pct(np.asarray(self._rv[-self.lookback :]), rv, self.min_history)
        return next_state(self._state, q, self.enter, self.exit), _probs(q)

    def detect(self, returns: FloatArray) -> RegimeSeries:
        r = np.asarray(returns, dtype=np.float64)
        rv = realised_vol(r, self.window)
        pct = np.full(len(r), np.nan)
        for t in range(len(r)):
            pct[t] = _pct(rv[max(0, t - self.lookback + 1) : t + 1], rv[t], self.min_history)
        state = np.empty(len(r), dtype=np.int64)
        cur = -1
        for t, q in enumerate(pct.tolist()):
            cur = state[t] = next_state(cur, q, self.enter, self.exit)
        probs = np.stack([1.0 - pct, pct], axis=1)
        return series_from_states(self.labels, state, probs)


def _probs(q: float) -> FloatArray:
    return np.array([1.0 - q, q])
