"""Per-symbol market state an algorithm reads, updated once per bar in one numba pass:
EWMAs of bar volume, squared log return and bar range (high - low) / close, and the
cumulative volume and typical price x volume (interval VWAPs are differences), also as
they were before the last bar; the same
pass adds the bar's volumes to the VWAP profile's session (``profile.add_column``)."""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from alphapulse.execution.algos.profile import add_column

FloatArray = npt.NDArray[np.float64]
SPAN = 30


@numba.njit(cache=True)
def _update(
    close: FloatArray,
    high: FloatArray,
    low: FloatArray,
    volume: FloatArray,
    s: FloatArray,
    alpha: float,
    profile: FloatArray,
    minute: int,
) -> None:
    # s rows: 0 last close, 1 var, 2 range, 3 volume, 4 cum volume, 5 cum price x volume,
    # 6-7 rows 4-5 before this bar
    for i in range(close.shape[0]):
        s[6, i] = s[4, i]
        s[7, i] = s[5, i]
        c = close[i]
        if not (c > 0 and high[i] == high[i] and low[i] == low[i]):
            continue  # no bar (as the venue sees it: a NaN price)
        last = s[0, i]
        if last > 0:
            r2 = np.log(c / last) ** 2
            s[1, i] = r2 if np.isnan(s[1, i]) else alpha * r2 + (1 - alpha) * s[1, i]
        s[0, i] = c
        rng = (high[i] - low[i]) / c
        if rng >= 0:
            s[2, i] = rng if np.isnan(s[2, i]) else alpha * rng + (1 - alpha) * s[2, i]
        v = volume[i]
        if v >= 0:  # a bar with no trades counts: expected volume falls
            s[3, i] = v if np.isnan(s[3, i]) else alpha * v + (1 - alpha) * s[3, i]
            s[4, i] += v
            s[5, i] += v * (high[i] + low[i] + c) / 3.0
    if minute >= 0:
        add_column(profile, minute, volume)


class MarketState:
    def __init__(self, n_symbols: int, span: int = SPAN) -> None:
        self.s = np.full((8, n_symbols), np.nan)
        self.s[4:] = 0.0
        self._alpha = 2.0 / (span + 1.0)
        self._no_profile = np.zeros((0, 0))

    def update(
        self,
        close: FloatArray,
        high: FloatArray,
        low: FloatArray,
        vol: FloatArray,
        profile: FloatArray | None = None,
        minute: int = -1,
    ) -> None:
        """Take a bar; with a ``profile`` (``VolumeProfile.column``), also add its
        volumes to column ``minute`` of it."""
        if profile is None:
            profile, minute = self._no_profile, -1
        _update(close, high, low, vol, self.s, self._alpha, profile, minute)

    def sigma(self, sid: int) -> float:
        return float(np.sqrt(self.s[1, sid]))

    def bar_range(self, sid: int) -> float:
        return float(self.s[2, sid])

    def volume(self, sid: int) -> float:
        return float(self.s[3, sid])

    def cum(self, sid: int, before_last: bool = False) -> tuple[float, float]:
        """Cumulative (volume, typical price x volume) of ``sid`` so far (before the last
        bar taken, with ``before_last``)."""
        row = 6 if before_last else 4
        return float(self.s[row, sid]), float(self.s[row + 1, sid])
