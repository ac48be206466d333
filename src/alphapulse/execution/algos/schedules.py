"""Parent-order schedules: the fraction of a parent that should be done by a point of
its horizon (``f`` in [0, 1] is the elapsed fraction of the horizon).

- TWAP: ``f`` (equal slices in time);
- VWAP: the cumulative share of the volume profile's minutes from the start to now;
- IS (arrival price, Almgren-Chriss): holdings decay as ``sinh(k (1 - f)) / sinh(k)``,
  so the done fraction is ``1 - sinh(k (1 - f)) / sinh(k)``; ``k = kappa x T`` grows
  with urgency and with the volatility expected over the horizon (front-loading);
- POV: not a function of time: ``rate x`` the volume printed since the start.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Urgency -> risk-aversion scale of ``kappa x T`` per 1% of horizon volatility.
URGENCY_SCALE = {"low": 0.5, "medium": 1.5, "high": 4.0}
REFERENCE_VOL = 0.01  # horizon volatility at which kappa x T equals the urgency scale
KAPPA_BOUNDS = (1e-3, 20.0)


def twap_fraction(f: float) -> float:
    return min(max(f, 0.0), 1.0)


def is_fraction(f: float, kappa_t: float) -> float:
    """Almgren-Chriss done fraction; ``kappa_t -> 0`` is TWAP."""
    f = twap_fraction(f)
    if kappa_t < 1e-6:
        return f
    return 1.0 - math.sinh(kappa_t * (1.0 - f)) / math.sinh(kappa_t)


def kappa_t(urgency: str, sigma_bar: float, bars_in_horizon: float) -> float:
    """``kappa x T`` from urgency and the volatility expected over the horizon (an
    unknown one, before any return is seen, counts as ``REFERENCE_VOL`` a bar; none at
    all means no timing risk: TWAP)."""
    sigma = sigma_bar if math.isfinite(sigma_bar) else REFERENCE_VOL
    horizon_vol = sigma * math.sqrt(max(bars_in_horizon, 1.0))
    k = URGENCY_SCALE[urgency] * horizon_vol / REFERENCE_VOL
    return min(max(k, KAPPA_BOUNDS[0]), KAPPA_BOUNDS[1])


def vwap_curve(profile: FloatArray, start_minute: int, n_minutes: int) -> FloatArray | None:
    """Cumulative volume share of minutes ``start_minute .. start_minute + n - 1`` (of a
    1440-minute profile, wrapping at midnight): element ``k`` is the share done after
    ``k`` minutes (0 first, 1 last). None when the profile has no volume there."""
    n = max(int(n_minutes), 1)
    idx = (start_minute + np.arange(n)) % len(profile)
    w = np.nan_to_num(profile[idx], nan=0.0)
    total = float(w.sum())
    if total <= 0:
        return None
    return np.concatenate(([0.0], np.cumsum(w) / total))


def vwap_fraction(curve: FloatArray, f: float) -> float:
    """The VWAP curve read at elapsed fraction ``f`` (linear between minutes)."""
    f = twap_fraction(f)
    last = len(curve) - 1
    x = f * last
    i = int(x)
    if i >= last:
        return float(curve[last])
    lo = float(curve[i])
    return (float(curve[i + 1]) - lo) * (x - i) + lo  # np.interp's arithmetic, scalar


def pov_target(rate: float, realised_volume: float) -> float:
    """Quantity a POV parent should have done after ``realised_volume`` printed."""
    return rate * max(realised_volume, 0.0)
