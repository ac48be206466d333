"""Volatility-based sizing: volatility targeting and inverse volatility.

Volatility targeting (``docs/risk.md`` has the derivation)::

    sigma_i = std(log returns over the last L bars) x sqrt(P)      (or ATR_i / price_i x sqrt(P))
    raw_i   = d_i x sigma* / sigma_i                               (each name at the target)
    Sigma   = covariance of the same returns x P (Ledoit-Wolf, constant-correlation target)
    w       = cap(k x raw),  k chosen so that sqrt(w' Sigma w) = sigma*

with P bars per year, d_i the signal's direction and ``cap`` the per-name and gross caps;
``k`` is found by a few fixed-point steps so caps that bind do not pull the ex-ante vol
below the target while there is still room (if every name is capped it stays below).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alphapulse.engine.context import Context
from alphapulse.model.signals import Signals
from alphapulse.portfolio.construction import (
    FloatArray,
    IntArray,
    SignalWeighting,
    cap_weights,
)
from alphapulse.portfolio.estimators import atr_at, column_std, covariance

_SCALE_STEPS = 20
_SCALE_TOL = 1e-4


class VolatilityTarget(SignalWeighting):
    """Sizes each active name to ``target_vol`` and the book to an ex-ante ``target_vol``."""

    def __init__(
        self,
        target_vol: float = 0.10,
        *,
        estimator: str = "std",
        atr_window: int = 14,
        scale_to_target: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.target_vol = target_vol
        self.estimator = estimator
        self.atr_window = atr_window
        self.scale_to_target = scale_to_target
        self.last_ex_ante_vol = math.nan  # of the last construction (diagnostics, tests)

    def vols(self, ctx: Context, act: IntArray, rets: FloatArray, ppy: float) -> FloatArray:
        """Annualised volatility per active name (NaN when unknown)."""
        if self.estimator == "atr":
            price = ctx.prices(1)[-1, act]
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray(atr_at(ctx, self.atr_window)[act] / price * math.sqrt(ppy))
        return column_std(rets, self.min_obs) * math.sqrt(ppy)

    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        rets, ok = self.trailing_returns(ctx, act)
        ppy = self.bars_per_year(ctx)
        vol = self.vols(ctx, act, rets, ppy)
        good = ok & np.isfinite(vol) & (vol > 0)
        w = np.full(act.size, np.nan)
        if not good.any():
            return w
        raw = sign[good] * self.target_vol / vol[good]
        if self.scale_to_target:
            cov = covariance(rets[:, good], self.shrinkage) * ppy
            raw = self._scale(raw, cov)
        w[good] = cap_weights(raw, self.max_weight, self.max_gross)
        return w

    def _scale(self, raw: FloatArray, cov: FloatArray) -> FloatArray:
        """cap(k x raw) with ex-ante vol sqrt(w' cov w) as close to the target as caps allow."""
        k = 1.0
        w = raw
        for _ in range(_SCALE_STEPS):
            w = cap_weights(k * raw, self.max_weight, self.max_gross)
            vol = math.sqrt(max(float(w @ cov @ w), 0.0))
            self.last_ex_ante_vol = vol
            if not vol > 0 or abs(vol / self.target_vol - 1.0) < _SCALE_TOL:
                break
            k *= self.target_vol / vol  # once every cap binds, w (and vol) stop moving
        return w


class InverseVolatility(SignalWeighting):
    """w_i = d_i x budget x (1 / sigma_i) / sum_j (1 / sigma_j)."""

    def weights(
        self, signals: Signals, ctx: Context, act: IntArray, sign: FloatArray, budget: float
    ) -> FloatArray:
        rets, ok = self.trailing_returns(ctx, act)
        vol = column_std(rets, self.min_obs)
        good = ok & np.isfinite(vol) & (vol > 0)
        w = np.full(act.size, np.nan)
        if good.any():
            inv = 1.0 / vol[good]
            w[good] = sign[good] * budget * inv / inv.sum()
        return w
