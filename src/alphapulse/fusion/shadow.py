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

from alphapulse.fusion.kernels import book_step, column_std

FloatArray = npt.NDArray[np.float64]


class ShadowBooks:
    """Standing directions [E, N] and per-bar net returns of E experts on N symbols
    (one compiled step per bar, ``fusion.kernels.book_step``; returns kept in a
    preallocated [rows, E] buffer)."""

    def __init__(self, n_experts: int, n_symbols: int, cost_bps: float = 5.0) -> None:
        self.dirs = np.full((n_experts, n_symbols), np.nan)
        self.cost = cost_bps * 1e-4
        self._held = np.zeros((n_experts, n_symbols))
        self._last_close = np.full(n_symbols, np.nan)
        self._started = False
        self._ret = np.empty((256, n_experts))
        self._rows = 0
        self._scratch = np.empty((2, n_symbols))

    def update(self, close: FloatArray, directions: FloatArray) -> FloatArray:
        """Mark the books to ``close`` (bar t), then take the experts' new signals
        [E, N] (NaN keeps); returns each expert's net return at t [E]."""
        if self._rows == len(self._ret):
            self._ret = np.concatenate([self._ret, np.empty_like(self._ret)])
        self.dirs = self.dirs.copy()  # a new array per bar: callers may keep the old one
        out = self._ret[self._rows]
        book_step(
            self._held,
            self.dirs,
            self._last_close,
            self._started,
            np.asarray(close, dtype=np.float64),
            np.asarray(directions, dtype=np.float64),
            self.cost,
            out,
            self._scratch,
        )
        self._started = True
        self._rows += 1
        return out.copy()

    def returns(self, lookback: int | None = None) -> FloatArray:
        """Per-bar net returns [rows, E] of the last ``lookback`` bars."""
        start = max(0, self._rows - lookback) if lookback else 0
        return self._ret[start : self._rows].copy()

    def trailing_vol(self, lookback: int, min_rows: int = 10) -> FloatArray:
        """Std of each expert's returns over the last ``lookback`` bars (NaN: too few)."""
        start = max(0, self._rows - lookback)
        if self._rows - start < max(min_rows, 2):
            return np.full(self._held.shape[0], np.nan)
        return column_std(self._ret[start : self._rows])
