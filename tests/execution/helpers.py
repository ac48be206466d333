"""Shared test helpers: a fake account, bar builders and a venue factory."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from alphapulse.engine.bars import BarSlice
from alphapulse.execution.costs import ExecutionConfig
from alphapulse.execution.venue import SimulatedVenue
from alphapulse.model.orders import Fill
from alphapulse.portfolio.ledger import Ledger

NAN = float("nan")
STEP = 100  # nanoseconds between bars; bar i is at ts (i + 1) * STEP


class FakeAccount(Ledger):
    """A ledger of up to four symbols whose positions a test may set (``positions``:
    the quantity row, e.g. a position that went away elsewhere)."""

    def __init__(self, cash: float = 1_000_000.0, positions: dict[int, float] | None = None):
        super().__init__(4, cash)
        for sid, q in (positions or {}).items():
            self.qty[sid] = q

    @property
    def positions(self) -> npt.NDArray[np.float64]:
        return self.qty

    def booked(self, fills: list[Fill], start: dict[int, float] | None = None) -> bool:
        """Whether the positions are ``start`` plus the signed quantities of ``fills``."""
        want = np.zeros_like(self.qty)
        for sid, q in (start or {}).items():
            want[sid] = q
        for f in fills:
            want[f.sid] += f.signed_qty
        return bool(np.allclose(self.qty, want, rtol=0.0, atol=1e-9))


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
