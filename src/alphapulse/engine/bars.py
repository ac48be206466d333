"""The cross-section of bars delivered at one time step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class BarSlice(NamedTuple):
    """All symbols' bars at time step ``t`` (arrays of length N; NaN where no bar). A
    named tuple: immutable and cheap to build once per step."""

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
