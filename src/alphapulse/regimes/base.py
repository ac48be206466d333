"""The detector interface: one return per bar in, a regime per bar out.

A detector sees the log returns of one series (a symbol, or a market proxy) bar by bar
(``update``) and answers the regime label, its probabilities (one per label, in
``labels`` order) and the bars since the label last changed. ``detect`` runs a whole
series at once (research) and gives the values ``update`` gives bar by bar.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
WARMUP = "warmup"  # the label before a detector can tell


@dataclass(frozen=True, slots=True)
class RegimeStep:
    """One bar's answer: ``state`` indexes ``labels`` (-1 = warmup)."""

    state: int
    probs: FloatArray
    bars_since: int


@dataclass(frozen=True)
class RegimeSeries:
    """A detector's answers for a whole series: ``state`` [T] (-1 = warmup), ``probs``
    [T, K] (NaN in warmup), ``bars_since`` [T]."""

    labels: tuple[str, ...]
    state: IntArray
    probs: FloatArray
    bars_since: IntArray

    def label_at(self, t: int) -> str:
        s = int(self.state[t])
        return WARMUP if s < 0 else self.labels[s]

    def names(self) -> list[str]:
        return [WARMUP if s < 0 else self.labels[s] for s in self.state.tolist()]

    def frame(self, timestamps: pd.DatetimeIndex, symbol: str) -> pd.DataFrame:
        """timestamp, symbol, regime, bars_since, p_<label>... (regimes.csv columns)."""
        df = pd.DataFrame(
            {
                "timestamp": timestamps,
                "symbol": symbol,
                "regime": self.names(),
                "bars_since": self.bars_since,
            }
        )
        for k, lab in enumerate(self.labels):
            df[f"p_{lab}"] = self.probs[:, k]
        return df


def bars_since_change(state: IntArray) -> IntArray:
    """Bars since ``state`` last changed (0 on the bar of a change)."""
    out = np.zeros(len(state), dtype=np.int64)
    for t in range(1, len(state)):
        out[t] = 0 if state[t] != state[t - 1] else out[t - 1] + 1
    return out


class Detector(ABC):
    """Bar-by-bar regime detection on one return series (see module docstring)."""

    labels: tuple[str, ...]

    def __init__(self) -> None:
        self._state = -1
        self._since = -1

    @abstractmethod
    def _step(self, r: float) -> tuple[int, FloatArray]:
        """Take bar t's log return (NaN: none) and answer (state, probabilities)."""

    def update(self, r: float) -> RegimeStep:
        """Take the next bar's log return; this bar's regime."""
        state, probs = self._step(float(r))
        self._since = 0 if state != self._state else self._since + 1
        self._state = state
        return RegimeStep(state, probs, self._since)

    def detect(self, returns: FloatArray) -> RegimeSeries:
        """The whole series at once; equals ``update`` bar by bar on a fresh detector.
        Subclasses may override with a vectorised path (tests prove the equality)."""
        steps = [self.update(r) for r in np.asarray(returns, dtype=np.float64)]
        return _collect(self.labels, steps)


def _collect(labels: tuple[str, ...], steps: list[RegimeStep]) -> RegimeSeries:
    k = len(labels)
    probs = np.array([s.probs for s in steps]).reshape(-1, k)
    state = np.array([s.state for s in steps], dtype=np.int64)
    return RegimeSeries(labels, state, probs, np.array([s.bars_since for s in steps]))


def series_from_states(labels: tuple[str, ...], state: IntArray, probs: FloatArray) -> RegimeSeries:
    """A RegimeSeries from batch states and probabilities (bars since computed)."""
    return RegimeSeries(labels, state.astype(np.int64), probs, bars_since_change(state))


def log_returns(close: FloatArray) -> FloatArray:
    """log(c_t / c_{t-1}); NaN at the first bar and around missing closes."""
    c = np.asarray(close, dtype=np.float64)
    out = np.full(len(c), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(c[1:] / c[:-1])
    out[~np.isfinite(out)] = np.nan
    return out


def proxy_returns(prices: FloatArray) -> FloatArray:
    """Cross-sectional mean of the symbols' log returns per bar ([T, N] closes in; a
    market proxy when no index symbol is given); NaN where no symbol has a return."""
    p = np.asarray(prices, dtype=np.float64)
    r = np.full(p.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = np.log(p[1:] / p[:-1])
    r[~np.isfinite(r)] = np.nan
    ok = np.isfinite(r).sum(axis=1)
    s = np.nansum(r, axis=1)
    return np.where(ok > 0, s / np.maximum(ok, 1), np.nan)
