"""Round trips: FIFO matching of fills into closed trades, and the positions left open.

Fills are processed per symbol in time order (a stable sort on ``ts_ns``, so fills with
equal timestamps keep their given order). A fill in the direction of the open position
(or into a flat one) opens a lot; a fill against it closes the oldest lots first, one
output row per (entry lot, closing fill) pair, and whatever is left of it after the
position is flat opens a lot on the other side (a flip). Fees are allocated pro rata to
quantity: a row carries ``quantity / lot quantity`` of the entry fill's fee and
``quantity / fill quantity`` of the exit fill's fee.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.model.orders import Fill

FloatArray = npt.NDArray[np.float64]
TimestampConverter = Callable[[npt.NDArray[np.int64]], pd.DatetimeIndex]

ROUND_TRIP_COLUMNS: tuple[str, ...] = (
    "symbol",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "quantity",
    "pnl",
    "fees",
    "return_pct",
    "bars_held",
    "position",
)
OPEN_POSITION_COLUMNS: tuple[str, ...] = (
    "symbol",
    "side",
    "quantity",
    "avg_entry_price",
    "entry_time",
    "fees",
    "n_lots",
)
_REL_EPS = 1e-9  # quantities below this fraction of the fill quantity count as zero


def utc_timestamps(ts_ns: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """Default converter: nanoseconds since the epoch to a UTC ``DatetimeIndex``."""
    return pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True))


@dataclass(slots=True)
class _Lot:
    """The still-open part of one entry fill."""

    direction: int  # +1 long, -1 short
    quantity: float
    price: float
    fee_per_unit: float
    ts_ns: int
    bar_index: int
    position: int  # the symbol's position (flat to flat) it belongs to, from 1


@dataclass(slots=True)
class _Book:
    """Accumulated output of the matcher, column by column."""

    symbol: list[str] = field(default_factory=list)
    direction: list[int] = field(default_factory=list)
    entry_ns: list[int] = field(default_factory=list)
    entry_price: list[float] = field(default_factory=list)
    exit_ns: list[int] = field(default_factory=list)
    exit_price: list[float] = field(default_factory=list)
    quantity: list[float] = field(default_factory=list)
    fees: list[float] = field(default_factory=list)
    bars_held: list[int] = field(default_factory=list)
    position: list[int] = field(default_factory=list)

    def close(self, lot: _Lot, fill: Fill, qty: float, exit_fee: float) -> None:
        self.symbol.append(fill.symbol)
        self.direction.append(lot.direction)
        self.entry_ns.append(lot.ts_ns)
        self.entry_price.append(lot.price)
        self.exit_ns.append(fill.ts_ns)
        self.exit_price.append(fill.price)
        self.quantity.append(qty)
        self.fees.append(lot.fee_per_unit * qty + exit_fee)
        self.bars_held.append(fill.bar_index - lot.bar_index)
        self.position.append(lot.position)


def _match(fills: Sequence[Fill]) -> tuple[_Book, dict[str, deque[_Lot]]]:
    """Run FIFO matching; return the closed rows and the open lots per symbol."""
    order = np.argsort(np.fromiter((f.ts_ns for f in fills), np.int64, len(fills)), kind="stable")
    book = _Book()
    lots: dict[str, deque[_Lot]] = {}
    opened: dict[str, int] = {}  # positions opened per symbol
    for i in order:
        fill = fills[int(i)]
        if not fill.quantity > 0:
            raise ValueError(f"fill of order {fill.order_id} has quantity {fill.quantity}")
        queue = lots.setdefault(fill.symbol, deque())
        direction = int(fill.side)
        fee_per_unit = fill.fee / fill.quantity
        left = fill.quantity
        eps = _REL_EPS * fill.quantity
        while left > eps and queue and queue[0].direction != direction:
            lot = queue[0]
            if lot.quantity <= left + eps:  # the whole lot, rounding residue included
                qty = lot.quantity
                queue.popleft()
            else:
                qty = left
                lot.quantity -= qty
            book.close(lot, fill, qty, fee_per_unit * qty)
            left -= qty
        if left > eps:
            if not queue:  # from flat: a new position
                opened[fill.symbol] = opened.get(fill.symbol, 0) + 1
            at = opened[fill.symbol]
            queue.append(
                _Lot(direction, left, fill.price, fee_per_unit, fill.ts_ns, fill.bar_index, at)
            )
    return book, {s: q for s, q in lots.items() if q}


def round_trips(
    fills: Sequence[Fill], timestamps_to_datetime: TimestampConverter | None = None
) -> pd.DataFrame:
    """Closed trades from ``fills`` by FIFO matching per symbol (see the module docstring).

    Columns: symbol, side ("long"/"short"), entry_time, entry_price, exit_time,
    exit_price, quantity, pnl (net of the allocated fees of both legs), fees (those
    allocated fees), return_pct (pnl / entry notional, a fraction: 0.05 is 5%) and
    bars_held (exit bar_index - entry bar_index) and position (which of the symbol's
    positions, flat to flat, the row closes part of, from 1). Times are UTC
    ``Timestamp``s made by ``timestamps_to_datetime`` (default: :func:`utc_timestamps`).
    One row per matched (entry lot, exit fill) pair, in the order the exits happened.
    """
    book, _ = _match(fills)
    convert = timestamps_to_datetime or utc_timestamps
    direction = np.asarray(book.direction, dtype=np.float64)
    qty = np.asarray(book.quantity, dtype=np.float64)
    entry = np.asarray(book.entry_price, dtype=np.float64)
    exit_ = np.asarray(book.exit_price, dtype=np.float64)
    fees = np.asarray(book.fees, dtype=np.float64)
    pnl = direction * (exit_ - entry) * qty - fees
    notional = entry * qty
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(notional != 0, pnl / notional, np.nan)
    return pd.DataFrame(
        {
            "symbol": pd.Series(book.symbol, dtype=object),
            "side": np.where(direction > 0, "long", "short").astype(object),
            "entry_time": convert(np.asarray(book.entry_ns, dtype=np.int64)),
            "entry_price": entry,
            "exit_time": convert(np.asarray(book.exit_ns, dtype=np.int64)),
            "exit_price": exit_,
            "quantity": qty,
            "pnl": pnl,
            "fees": fees,
            "return_pct": ret,
            "bars_held": np.asarray(book.bars_held, dtype=np.int64),
            "position": np.asarray(book.position, dtype=np.int64),
        },
        columns=list(ROUND_TRIP_COLUMNS),
    )


def open_positions(
    fills: Sequence[Fill], timestamps_to_datetime: TimestampConverter | None = None
) -> pd.DataFrame:
    """Positions still open after FIFO matching, one row per symbol.

    Columns: symbol, side ("long"/"short"), quantity (> 0), avg_entry_price (quantity
    weighted over the open lots), entry_time (of the oldest open lot), fees (entry fees
    allocated to the open quantity, not yet in any round trip) and n_lots.
    """
    _, lots = _match(fills)
    convert = timestamps_to_datetime or utc_timestamps
    symbols = sorted(lots)
    qty = np.array([sum(lot.quantity for lot in lots[s]) for s in symbols], dtype=np.float64)
    cost = np.array([sum(lot.quantity * lot.price for lot in lots[s]) for s in symbols])
    fees = np.array([sum(lot.quantity * lot.fee_per_unit for lot in lots[s]) for s in symbols])
    direction = np.array([lots[s][0].direction for s in symbols], dtype=np.int64)
    first_ns = np.array([lots[s][0].ts_ns for s in symbols], dtype=np.int64)
    return pd.DataFrame(
        {
            "symbol": pd.Series(symbols, dtype=object),
            "side": np.where(direction > 0, "long", "short").astype(object),
            "quantity": qty,
            "avg_entry_price": cost / qty if len(symbols) else np.empty(0),
            "entry_time": convert(first_ns),
            "fees": fees.astype(np.float64),
            "n_lots": np.array([len(lots[s]) for s in symbols], dtype=np.int64),
        },
        columns=list(OPEN_POSITION_COLUMNS),
    )


def closed_positions(trades: pd.DataFrame, fills: Sequence[Fill]) -> pd.DataFrame:
    """The rows of ``trades`` (``round_trips(fills)``) whose position is flat at the end:
    the partial exits of a position still open are left out, so that the trade
    statistics count whole positions only (a position cut in half at a profit and held
    into a loss is not a winning trade)."""
    _, lots = _match(fills)
    still_open = {(symbol, queue[0].position) for symbol, queue in lots.items()}
    if not still_open or not len(trades):
        return trades
    keys = zip(trades["symbol"], trades["position"], strict=True)
    keep = np.fromiter((key not in still_open for key in keys), bool, len(trades))
    return trades[keep].reset_index(drop=True)


def traded_notional(fills: Sequence[Fill]) -> float:
    """Sum of ``|quantity x price|`` over all fills (buys and sells), for turnover."""
    qty = np.fromiter((f.quantity for f in fills), np.float64, len(fills))
    price = np.fromiter((f.price for f in fills), np.float64, len(fills))
    return float(np.abs(qty * price).sum())


def position_pnl(trades: pd.DataFrame) -> FloatArray:
    """P&L per position (the ``round_trips`` rows of one symbol's position, flat to flat,
    summed in row order), in the order each position's first row closed: a position
    built and closed in many fills (an execution algorithm's children, partial fills)
    counts once. A frame without ``position`` counts each row."""
    if not len(trades):
        return np.empty(0)
    if "position" not in trades:
        return trades["pnl"].to_numpy(dtype=np.float64)
    sums = trades.groupby(["symbol", "position"], sort=False)["pnl"].sum()
    return sums.to_numpy(dtype=np.float64)
