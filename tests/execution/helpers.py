"""Shared test helpers: a fake account, bar builders and a venue factory."""

from __future__ import annotations

from typing import Any

import numpy as np

from alphapulse.engine.bars import BarSlice
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Fill

NAN = float("nan")
STEP = 100  # nanoseconds between bars; bar i is at ts (i + 1) * STEP


class FakeAccount:
    """Cash and positions, updated by every fill; no margin checks of its own."""

    def __init__(self, cash: float = 1_000_000.0, positions: dict[int, float] | None = None):
        self._cash = cash
        self.positions: dict[int, float] = dict(positions or {})
        self.fills: list[Fill] = []

    @property
    def cash(self) -> float:
        return self._cash

    def position(self, sid: int) -> float:
        return self.positions.get(sid, 0.0)

    def apply(self, fill: Fill) -> None:
        self._cash -= fill.signed_qty * fill.price + fill.fee
        self.positions[fill.sid] = self.positions.get(fill.sid, 0.0) + fill.signed_qty
        self.fills.append(fill)


def ts(i: int) -> int:
    """Timestamp of bar ``i`` (bar -1 = before the first bar)."""
    return (i + 1) * STEP


def bar(
    i: int,
    ohlc: tuple[float, float, float, float] | list[tuple[float, float, float, float]],
    volume: float | list[float] = 1e9,
    session: int | None = None,
) -> BarSlice:
    """Bar ``i`` for one symbol (a tuple) or several (a list of tuples)."""
    rows = ohlc if isinstance(ohlc, list) else [ohlc]
    vols = volume if isinstance(volume, list) else [volume] * len(rows)
    cols = np.array(rows, dtype=np.float64).T
    return BarSlice(
        t=i,
        ts_ns=ts(i),
        session=i if session is None else session,
        open=cols[0].copy(),
        high=cols[1].copy(),
        low=cols[2].copy(),
        close=cols[3].copy(),
        volume=np.array(vols, dtype=np.float64),
    )


def free_config(**overrides: Any) -> ExecutionConfig:
    """A config without commission or slippage, plus ``overrides``."""
    data: dict[str, Any] = {"commission": {"model": "none"}, "slippage": {"model": "none"}}
    data.update(overrides)
    return ExecutionConfig.model_validate(data)


def make_venue(symbols: tuple[str, ...] = ("AAA",), **overrides: Any) -> SimulatedVenue:
    return SimulatedVenue(free_config(**overrides), symbols)
