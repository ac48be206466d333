"""Calendar features as cyclic sin/cos pairs of the UTC date."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_NS_PER_DAY = 86_400_000_000_000


def calendar_values(timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """[T, 4]: sin/cos of the day of week (Monday = 0, period 7) and of the month
    (January = 0, period 12)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    dow = ((ts // _NS_PER_DAY) + 3) % 7  # 1970-01-01 was a Thursday
    month = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 12
    a = 2.0 * np.pi * dow / 7.0
    b = 2.0 * np.pi * month / 12.0
    return np.stack([np.sin(a), np.cos(a), np.sin(b), np.cos(b)], axis=1)
