"""The cross-section of bars delivered at one time step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BarSlice:
    """All symbols' bars at time step ``t`` (arrays of length N; NaN where no bar)."""

    t: int
    ts_ns: int
    session: int  # trading-session id (local date, days since epoch); DAY orders expire on change
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    @property
    def has_bar(self) -> npt.NDArray[np.bool_]:
        return ~np.isnan(self.close)
