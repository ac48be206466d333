"""The engine's per-step book rows (time, equity, cash, gross, net exposure) in
preallocated numpy buffers: no Python object per step, capacity doubles when full (or is
reserved up front when the number of steps is known), so memory is 40 bytes a step."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Row = tuple[int, float, float, float, float]
EQUITY, CASH, GROSS, NET = range(4)


class StepRows:
    """Growable columns: ``ts`` (int64) and ``vals`` [width, capacity] (by default 4:
    equity, cash, gross, net); rows [0, n) are filled."""

    def __init__(self, capacity: int = 1024, width: int = 4) -> None:
        cap = max(int(capacity), 1)
        self.ts = np.zeros(cap, dtype=np.int64)
        self.vals = np.zeros((width, cap))
        self.n = 0

    @property
    def capacity(self) -> int:
        return len(self.ts)

    def reserve(self, capacity: int) -> None:
        """Make room for ``capacity`` rows in all (no-op when there is room already)."""
        if capacity <= len(self.ts):
            return
        n = self.n
        ts = np.zeros(capacity, dtype=np.int64)
        ts[:n] = self.ts[:n]
        vals = np.zeros((len(self.vals), capacity))
        vals[:, :n] = self.vals[:, :n]
        self.ts, self.vals = ts, vals

    def grow(self) -> None:
        """Double the capacity (called by the writer when ``n == capacity``)."""
        self.reserve(2 * len(self.ts))

    def since(self, start: int) -> list[Row]:
        """Rows ``start..n`` as (ts_ns, equity, cash, gross, net) tuples."""
        n = self.n
        cols = [self.ts[start:n].tolist(), *(v[start:n].tolist() for v in self.vals)]
        return list(zip(*cols, strict=True))

    def column(self, k: int) -> FloatArray:
        """Value column ``k`` (``EQUITY``, ``CASH``, ``GROSS``, ``NET``) of rows [0, n): a
        copy, or the buffer row itself when it is exactly full (a later row grows into a
        new buffer, so it is never written again)."""
        row = self.vals[k]
        return row if self.n == len(row) else row[: self.n].copy()

    def timestamps(self) -> npt.NDArray[np.int64]:
        return self.ts if self.n == len(self.ts) else self.ts[: self.n].copy()
