"""Replay of historical bars as a live source: the rows of a Panel, paced in real time
(``speed=1``), accelerated (``speed=k``: k times faster) or as fast as possible (0)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from alphapulse.data.panel import Panel
from alphapulse.live.bars import BarRow


class ReplaySource:
    """Rows of ``panel`` one by one; the wait between rows is their time gap / speed."""

    def __init__(
        self,
        panel: Panel,
        *,
        speed: float = 0.0,
        stop: threading.Event | None = None,
        fast_until: int | None = None,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.panel = panel
        self.speed = speed
        self.stop = stop or threading.Event()
        self.fields = tuple(panel.fields)
        self.fast_until = fast_until  # rows at or before this time: no pacing (recovery)

    def rows(self) -> Iterator[BarRow]:
        p = self.panel
        start_wall = time.monotonic()
        t0: int | None = None
        for t in range(p.n_bars):
            ts = int(p.timestamps[t])
            paced = self.fast_until is None or ts > self.fast_until
            if paced and t0 is None:
                start_wall, t0 = time.monotonic(), ts
            if self.speed > 0 and paced and t0 is not None:
                due = start_wall + (ts - t0) / 1e9 / self.speed
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    return
            if self.stop.is_set():
                return
            fields = {k: np.array(v[t], dtype=np.float64) for k, v in p.fields.items()}
            yield BarRow(ts, fields, time.perf_counter_ns())

    def close(self) -> None:
        self.stop.set()
