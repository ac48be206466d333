"""A causal per-symbol volatility estimate for market-impact slippage."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class EwmaVolatility:
    """Exponentially weighted std dev of close-to-close log returns (zero mean,
    RiskMetrics style): ``var <- decay x var + (1 - decay) x r**2``, seeded with the
    first return. Only closes passed to :meth:`update` are used, so the estimate never
    sees a bar before the caller shows it. NaN until ``min_obs`` returns were seen.
    A symbol without a bar (NaN close) keeps its state; the next return spans the gap."""

    def __init__(self, n_symbols: int, decay: float = 0.94, min_obs: int = 2) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self._decay = decay
        self._min_obs = min_obs
        self._last = np.full(n_symbols, np.nan)
        self._var = np.zeros(n_symbols)
        self._count = np.zeros(n_symbols, dtype=np.int64)

    def update(self, close: FloatArray) -> None:
        """Fold in one cross-section of closes (two compiled passes around one
        ``np.log`` over the gross returns, so the logs are numpy's)."""
        idx, ratio = _gross_returns(close, self._last)
        _fold(close, np.log(ratio), idx, self._decay, self._last, self._var, self._count)

    @property
    def state(self) -> tuple[FloatArray, IntArray, int]:
        """(variance, returns seen, ``min_obs``) per symbol: the arrays themselves,
        updated in place, for compiled readers (``get`` for every symbol)."""
        return self._var, self._count, self._min_obs

    def get(self, sid: int) -> float:
        """Per-bar return volatility of one symbol, NaN when not yet known."""
        return level(self._var, self._count, self._min_obs, sid)


@njit(cache=True)
def level(var: FloatArray, count: IntArray, min_obs: int, sid: int) -> float:
    """:meth:`EwmaVolatility.get` from its :attr:`~EwmaVolatility.state` (callable from
    compiled code); NaN when not yet known, or when no estimate is kept (empty arrays)."""
    if count.shape[0] == 0 or count[sid] < min_obs:
        return math.nan
    return math.sqrt(var[sid])  # correctly rounded, as np.sqrt


@njit(cache=True)
def _gross_returns(close: FloatArray, last: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Symbols with a valid close (finite, > 0) and a previous one, and close / previous."""
    n = close.shape[0]
    idx = np.empty(n, dtype=np.intp)
    ratio = np.empty(n)
    k = 0
    for i in range(n):
        c = close[i]
        if math.isfinite(c) and c > 0 and math.isfinite(last[i]):
            idx[k] = i
            ratio[k] = c / last[i]
            k += 1
    return idx[:k], ratio[:k]


@njit(cache=True)
def _fold(
    close: FloatArray,
    r: FloatArray,
    idx: npt.NDArray[np.intp],
    decay: float,
    last: FloatArray,
    var: FloatArray,
    count: IntArray,
) -> None:
    """The EWMA step for the log returns ``r`` of symbols ``idx``; valid closes become
    the previous ones."""
    for j in range(idx.shape[0]):
        i, x = idx[j], r[j]
        var[i] = x * x if count[i] == 0 else decay * var[i] + (1.0 - decay) * x * x
        count[i] += 1
    for i in range(close.shape[0]):
        c = close[i]
        if math.isfinite(c) and c > 0:
            last[i] = c
