"""A causal per-symbol volatility estimate for market-impact slippage."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


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
        """Fold in one cross-section of closes (vectorized over symbols)."""
        ok = np.isfinite(close) & (close > 0)
        has_prev = ok & np.isfinite(self._last)
        if has_prev.any():
            r = np.log(close[has_prev] / self._last[has_prev])
            first = self._count[has_prev] == 0
            old = self._var[has_prev]
            self._var[has_prev] = np.where(
                first, r * r, self._decay * old + (1.0 - self._decay) * r * r
            )
            self._count[has_prev] += 1
        self._last[ok] = close[ok]

    def get(self, sid: int) -> float:
        """Per-bar return volatility of one symbol, NaN when not yet known."""
        if self._count[sid] < self._min_obs:
            return float("nan")
        return float(np.sqrt(self._var[sid]))
