"""Portfolio construction: signals -> target weights.

``EqualSlot`` (the engine's default) gives each symbol of the universe an equal slot of
equity (1/N), so one symbol alone is traded all-in. The other constructors share
``SignalWeighting``: they size only the *active* symbols (direction +1/-1), leave
no-opinion symbols (NaN) as they are and send flat signals (0) to weight 0; names that
cannot be sized (too little history, a flat price) get NaN (left as they are); the gross
budget is ``gross`` minus what the holdings left as they are (no opinion or unsized)
already use; finally per-name and gross caps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import numpy.typing as npt

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals, Targets
from alphapulse.portfolio.estimators import BarsPerYear, log_returns

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class EqualSlot:
    """weight_i = direction_i x confidence_i / N; NaN (no opinion) stays NaN."""

    def __init__(self, gross: float = 1.0) -> None:
        self.gross = gross

    def construct(self, signals: Signals, ctx: Context) -> Targets:
        w = signals.direction * (self.gross / max(ctx.n_symbols, 1))
        if signals.confidence is not None:
            w = w * np.clip(signals.confidence, 0.0, 1.0)
        return Targets(w)


def cap_weights(w: FloatArray, max_weight: float | None, max_gross: float | None) -> FloatArray:
    """Clip each |w_i| to ``max_weight``, then scale everything down so sum |w| <= max_gross
    (NaN entries are ignored and kept)."""
    out = np.array(w, dtype=np.float64)
    if max_weight is not None:
        out = np.clip(out, -max_weight, max_weight)
    if max_gross is not None:
        gross = float(np.nansum(np.abs(out)))
        if gross > max_gross > 0:
            out *= max_gross / gross
        elif max_gross <= 0:
            out = np.where(np.isnan(out), np.nan, 0.0)
    return out


class SignalWeighting(ABC):
    """Base of the weighting constructors (see the module docstring)."""

    def __init__(
        self,
        *,
        gross: float = 1.0,
        max_weight: float | None = None,
        max_gross: float | None = None,
        lookback: int = 60,
        min_obs: int | None = None,
        periods_per_year: float | None = None,
        shrinkage: str = "constant_correlation",
    ) -> None:
        self.gross = gross
        self.max_weight = max_weight
        self.max_gross = gross if max_gross is None else max_gross
        self.lookback = lookback
        self.min_obs = max(lookback // 2, 2) if min_obs is None else min_obs
        self.bars_per_year = BarsPerYear(periods_per_year)
        self.shrinkage = shrinkage  # covariance estimator (``estimators.covariance``)

    def construct(self, signals: Signals, ctx: Context) -> Targets:
        d = np.asarray(signals.direction, dtype=np.float64)
        out = np.where(np.isnan(d), np.nan, 0.0)
        act = np.flatnonzero(np.isfinite(d) & (d != 0.0))
        if act.size == 0:
            return Targets(out)
        held = np.abs(ctx.weights())
        used = float(np.where(np.isnan(d), held, 0.0).sum())
        w = self.weights(signals, ctx, act, np.sign(d[act]), max(self.gross - used, 0.0))
        kept = float(np.where(np.isnan(w), held[act], 0.0).sum())
        if kept > 0:  # active names that cannot be sized keep their holdings: budget them
            used += kept
            w = self.weights(signals, ctx, act, np.sign(d[act]), max(self.gross - used, 0.0))
        out[act] = cap_weights(w, self.max_weight, max(self.max_gross - used, 0.0))
        return Targets(out)

    @abstractmethod
    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        """Signed weights of the active symbols ``act`` (NaN: cannot size)."""

    # -- helpers for the estimators ---------------------------------------------------
    def trailing_returns(self, ctx: Context, act: IntArray) -> tuple[FloatArray, FloatArray]:
        """Log returns of the last ``lookback`` bars of ``act`` and a mask of the columns
        with at least ``min_obs`` returns and a current price."""
        prices = ctx.prices(self.lookback + 1)[:, act]
        rets = log_returns(prices) if prices.shape[0] > 1 else np.empty((0, act.size))
        ok = (np.isfinite(rets).sum(axis=0) >= self.min_obs) & np.isfinite(prices[-1])
        return rets, ok


class EqualWeight(SignalWeighting):
    """w_i = d_i x budget / n_active."""

    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        return sign * (budget / act.size)


class ConfidenceWeighted(SignalWeighting):
    """w_i = d_i x budget x c_i / sum(c) (confidence in [0, 1]; missing = 1, equal)."""

    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        if signals.confidence is None:
            c = np.ones(act.size)
        else:
            c = np.clip(np.nan_to_num(signals.confidence[act], nan=0.0), 0.0, 1.0)
        total = float(c.sum())
        if total <= 0:
            return np.zeros(act.size)
        return sign * budget * c / total
