"""Clocks. The engine asks the clock for the current time; only the clock differs
between a backtest (simulated, driven by the data feed) and paper trading (wall clock)."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np


class Clock(Protocol):
    """Source of the current time in nanoseconds since the epoch (UTC)."""

    def now_ns(self) -> int: ...

    def advance_to(self, ts_ns: int) -> None:
        """Move to a data timestamp (a wall clock ignores it)."""


class SimulatedClock:
    """A clock that only moves when the engine advances it to the next data timestamp."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def advance_to(self, ts_ns: int) -> None:
        if ts_ns < self._now:
            raise ValueError(f"clock cannot go backwards: {ts_ns} < {self._now}")
        self._now = ts_ns


class WallClock:
    """Real time, for paper trading."""

    def now_ns(self) -> int:
        return time.time_ns()

    def advance_to(self, ts_ns: int) -> None:  # wall time advances by itself
        return None


def to_datetime64(ts_ns: int) -> np.datetime64:
    return np.datetime64(ts_ns, "ns")
