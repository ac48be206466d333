"""From model predictions to trading signals.

A score per symbol (a probability of an up move, or an expected return) becomes a
direction with hysteresis, optionally on cross-sectional percentile ranks so that the
thresholds do not depend on the model's scale:

- score >= ``long_above``: BUY (+1);
- score <= ``short_below`` (when set): SELL short (-1);
- score <= ``exit_below``: flat (0);
- otherwise: HOLD (NaN, keep what is held).

Confidence in [0, 1] (the model's, e.g. from the quantile spread or the probability)
scales the size; entries below ``min_confidence`` are not taken.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alphapulse.model.signals import Signals

FloatArray = npt.NDArray[np.float64]


class SignalRule(BaseModel):
    """Thresholds mapping a score to BUY / SELL / HOLD (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: bool = True  # thresholds on cross-sectional percentile ranks in [0, 1]
    long_above: float = 0.8
    exit_below: float = 0.5
    short_below: float | None = None  # None: long only
    scale_by_confidence: bool = True
    min_confidence: float = Field(0.0, ge=0, le=1)
    confidence_floor: float = Field(0.25, ge=0, le=1)  # size = floor + (1 - floor) x conf

    @model_validator(mode="after")
    def _order(self) -> SignalRule:
        if self.exit_below > self.long_above:
            raise ValueError("exit_below must be <= long_above")
        if self.short_below is not None and self.short_below > self.exit_below:
            raise ValueError("short_below must be <= exit_below")
        return self


def percentile_rank(x: FloatArray) -> FloatArray:
    """Cross-sectional rank of each finite value scaled to [0, 1] (ties averaged; NaN
    stays NaN; a single value gets 0.5)."""
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    n = int(ok.sum())
    if n == 0:
        return out
    if n == 1:
        out[ok] = 0.5
        return out
    from scipy.stats import rankdata

    out[ok] = (rankdata(x[ok]) - 1.0) / (n - 1.0)
    return out


def directions(score: FloatArray, rule: SignalRule) -> FloatArray:
    """+1 / -1 / 0 / NaN per symbol from the score (NaN score: NaN, no opinion)."""
    s = percentile_rank(score) if rule.rank else np.asarray(score, dtype=np.float64)
    d = np.full(s.shape, np.nan)
    with np.errstate(invalid="ignore"):
        d[s <= rule.exit_below] = 0.0
        if rule.short_below is not None:
            d[s <= rule.short_below] = -1.0
        d[s >= rule.long_above] = 1.0
    return d


def to_signals(score: FloatArray, confidence: FloatArray | None, rule: SignalRule) -> Signals:
    """Signals with direction from ``score`` and size from ``confidence``."""
    d = directions(score, rule)
    if confidence is None:
        return Signals(d)
    c = np.clip(np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0), 0.0, 1.0)
    entering = np.isfinite(d) & (d != 0)
    d = np.where(entering & (c < rule.min_confidence), 0.0, d)
    if not rule.scale_by_confidence:
        return Signals(d)
    size = rule.confidence_floor + (1.0 - rule.confidence_floor) * c
    return Signals(d, np.where(np.isfinite(d), size, np.nan))


def vol_exits(
    close: FloatArray,
    vol: FloatArray,
    direction: FloatArray,
    stop_mult: float | None,
    take_mult: float | None,
) -> tuple[FloatArray, FloatArray]:
    """Suggested stop-loss and take-profit prices: ``close -/+ mult x vol`` for longs
    (mirrored for shorts); ``vol`` is a price distance (e.g. the ATR). NaN where the
    direction is not +1/-1 or a multiple is not set."""
    side = np.where(np.isfinite(direction), np.sign(direction), 0.0)
    side[side == 0] = np.nan

    def level(mult: float | None, sign: float) -> FloatArray:
        if mult is None:
            return np.full(close.shape, np.nan)
        px = close + sign * side * mult * vol
        return np.where(px > 0, px, np.nan)

    return level(stop_mult, -1.0), level(take_mult, 1.0)
