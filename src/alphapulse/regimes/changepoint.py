"""Change-point regimes (ruptures) on a trailing window only.

Every ``every`` bars the last ``window`` log returns are segmented (``KernelCPD`` with a
linear kernel, i.e. mean shifts, on the standardised log squared returns: shifts in
variance); the segment that ends at t is compared with the whole trailing window: when
its volatility is at least ``ratio`` times the window's, the regime is high_vol.
p_high_vol is a logistic of that volatility ratio's log around ``log(ratio)``.
"""

from __future__ import annotations

import numpy as np

from alphapulse.regimes.base import Detector, FloatArray

LABELS = ("calm", "high_vol")


def last_segment_start(r: FloatArray, min_size: int, penalty: float) -> int:
    """Index in ``r`` where the last detected segment starts (0: no change)."""
    s = np.log(r * r + 1e-12)
    sd = s.std()
    z = (s - s.mean()) / (sd if sd > 0 else 1.0)
    import ruptures as rpt  # loaded on first use (about a second off every import)

    bkps = rpt.KernelCPD(kernel="linear", min_size=min_size).fit(z.reshape(-1, 1))
    ends = bkps.predict(pen=penalty)
    return int(ends[-2]) if len(ends) > 1 else 0


class ChangePointRegime(Detector):
    """See the module docstring."""

    labels = LABELS

    def __init__(
        self,
        window: int = 250,
        min_size: int = 10,
        penalty: float = 10.0,
        ratio: float = 1.3,
        every: int = 1,
    ) -> None:
        super().__init__()
        self.window, self.min_size, self.penalty = window, min_size, penalty
        self.ratio, self.every = ratio, every
        self._r: list[float] = []
        self._seen = 0
        self._last: tuple[int, FloatArray] = (-1, np.full(2, np.nan))

    def _step(self, r: float) -> tuple[int, FloatArray]:
        self._seen += 1
        if r == r:
            self._r.append(r)
            self._r = self._r[-self.window :]
        if len(self._r) < self.window or (self._seen - 1) % self.every:
            return self._last
        w = np.asarray(self._r)
        seg = w[last_segment_start(w, self.min_size, self.penalty) :]
        ratio = np.sqrt(np.mean(seg * seg) / max(np.mean(w * w), 1e-24))
        with np.errstate(divide="ignore"):  # a flat last segment: ratio 0, calm, p 0
            p = 1.0 / (1.0 + np.exp(-4.0 * (np.log(ratio) - np.log(self.ratio))))
        self._last = (int(ratio >= self.ratio), np.array([1.0 - p, p]))
        return self._last
