"""Average-cost fill accounting in Python: the SQLite twin of the PostgreSQL trigger.

:func:`apply_fill` performs, in the same order, exactly the floating-point operations of
``alphapulse_apply_fill`` (``store/accounting_sql.py``) and of the engine's
``Ledger.apply``, so both backends and the engine agree bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

ZERO_QTY: Final = 1e-12


@dataclass(frozen=True)
class PositionState:
    """A run's position in one symbol."""

    quantity: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    last_fill_ts: int | None = None


@dataclass(frozen=True)
class CashState:
    """A run's cash balance."""

    initial_cash: float = 0.0
    cash: float = 0.0
    fees: float = 0.0
    n_fills: int = 0
    last_fill_ts: int | None = None


@dataclass(frozen=True)
class FillEvent:
    """The accounting-relevant part of a fill (``quantity`` > 0, ``side`` buy/sell)."""

    symbol: str
    side: str
    quantity: float
    price: float
    fee: float
    ts: int


def _latest(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def apply_fill(
    pos: PositionState, cash: CashState, fill: FillEvent
) -> tuple[PositionState, CashState]:
    """The position and cash after booking ``fill``."""
    q = fill.quantity if fill.side == "buy" else -fill.quantity
    p = fill.price
    new_cash = CashState(
        initial_cash=cash.initial_cash,
        cash=cash.cash - (q * p + fill.fee),
        fees=cash.fees + fill.fee,
        n_fills=cash.n_fills + 1,
        last_fill_ts=_latest(cash.last_fill_ts, fill.ts),
    )
    qty, avg, realized = pos.quantity, pos.avg_price, pos.realized_pnl
    new_qty = qty + q
    if qty == 0 or (qty > 0) == (q > 0):
        avg = (qty * avg + q * p) / new_qty
    else:
        closed = min(abs(q), abs(qty))
        realized = realized + closed * (p - avg) * math.copysign(1.0, qty)
        if abs(q) > abs(qty):
            avg = p
        elif abs(q) == abs(qty):
            avg = 0.0
    if abs(new_qty) < ZERO_QTY:
        new_qty = 0.0
    new_pos = PositionState(
        quantity=new_qty,
        avg_price=avg,
        realized_pnl=realized,
        fees=pos.fees + fill.fee,
        last_fill_ts=_latest(pos.last_fill_ts, fill.ts),
    )
    return new_pos, new_cash
