"""Shadow books: what each expert would have held and earned, bar by bar.

Each expert's standing direction per symbol (its last non-NaN signal; NaN = never said)
is held from one close to the next: the book earns ``mean_i(d_i,t-1 x r_i,t)`` over the
universe minus ``cost_bps`` on every change of direction (|delta d| / N). Only closes up
to t enter the return at t, so the trailing statistics a fuser reads at t know nothing
later.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class ShadowBooks:
    """Standing directions [E, N] and per-bar net returns of E experts on N symbols."""

    def __init__(self, n_experts: int, n_symbols: int, cost_bps: float = 5.0) -> None:
        self.dirs = np.full((n_experts, n_symbols), np.nan)
        self.cost = cost_bps * 1e-4
        self._held = np.zeros((n_experts, n_symbols))
        self._last_close: FloatArray | None = None
        self._returns: list[FloatArray] = []

    def update(self, close: FloatArray, directions: FloatArray) -> FloatArray:
        """Mark the books to ``close`` (bar t), then take the experts' new signals
        [E, N] (NaN keeps); returns each expert's net return at t [E]."""
        e, n = self._held.shape
        if self._last_close is None:
            gross = np.zeros(e)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                r = close / self._last_close - 1.0
            r = np.where(np.isfinite(r), r, 0.0)
            gross = (self._held * r[None, :]).sum(axis=1) / n
        self.dirs = np.where(np.isnan(directions), self.dirs, directions)
        new = np.nan_to_num(self.dirs, nan=0.0)
        cost = self.cost * np.abs(new - self._held).sum(axis=1) / n
        self._held = new
        self._last_close = (
            np.where(np.isfinite(close), close, self._last_close)
            if (self._last_close is not None)
            else close.copy()
        )
        out = gross - cost
        self._returns.append(out)
        return out

    def returns(self, lookback: int | None = None) -> FloatArray:
        """Per-bar net returns [rows, E] of the last ``lookback`` bars."""
        if not self._returns:
            return np.zeros((0, self._held.shape[0]))
        rows = self._returns if lookback is None else self._returns[-lookback:]
        return np.array(rows)

    def trailing_vol(self, lookback: int, min_rows: int = 10) -> FloatArray:
        """Std of each expert's returns over the last ``lookback`` bars (NaN: too few)."""
        r = self.returns(lookback)
        if len(r) < min_rows:
            return np.full(self._held.shape[0], np.nan)
        return np.asarray(r.std(axis=0, ddof=1))
