"""The typed messages carried by the bus and the topic of each kind.

Every message is a small frozen dataclass of ints (int64; timestamps are ns since the
epoch, UTC), floats, strings, optional ints/floats, string tuples and float64 arrays;
``codec.py`` serialises them. ``KIND`` is the stable wire code of a class, ``TOPIC`` its
default topic.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from alphapulse.engine.bars import BarSlice
from alphapulse.engine.stages import RiskEvent
from alphapulse.model.orders import Fill, Order, OrderStatus, OrderType, Side, TimeInForce

FloatArray = npt.NDArray[np.float64]


class Topic(StrEnum):
    """Default topic names, one per message kind."""

    BARS = "bars"
    CROSS_SECTIONS = "bars.cross"
    SIGNALS = "signals"
    ORDERS = "orders"
    FILLS = "fills"
    RISK = "risk"
    ANOMALIES = "anomalies"
    REGIMES = "regimes"


@dataclass(frozen=True, slots=True)
class BarMsg:
    """One OHLCV bar of one symbol starting at ``ts_ns``."""

    KIND: ClassVar[int] = 1
    TOPIC: ClassVar[Topic] = Topic.BARS

    symbol: str
    timeframe: str
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float


_ARRAYS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True, eq=False)
class CrossSectionMsg:
    """All symbols' bars at ``ts_ns`` as float64 arrays aligned with ``symbols`` (NaN
    close = no bar). Arrays are read-only; equality compares them bit for bit."""

    KIND: ClassVar[int] = 2
    TOPIC: ClassVar[Topic] = Topic.CROSS_SECTIONS

    ts_ns: int
    timeframe: str
    symbols: tuple[str, ...]
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", tuple(self.symbols))
        for name in _ARRAYS:
            arr = np.asarray(getattr(self, name))
            if arr.dtype != np.float64 or not isinstance(arr.base, bytes):  # not decoded
                arr = np.array(arr, dtype=np.float64)  # a private copy we can freeze
                arr.setflags(write=False)
            if arr.shape != (len(self.symbols),):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({len(self.symbols)},)")
            object.__setattr__(self, name, arr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CrossSectionMsg):
            return NotImplemented
        return (self.ts_ns, self.timeframe, self.symbols) == (
            other.ts_ns,
            other.timeframe,
            other.symbols,
        ) and all(getattr(self, n).tobytes() == getattr(other, n).tobytes() for n in _ARRAYS)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_slice(cls, bar: BarSlice, symbols: tuple[str, ...], timeframe: str) -> CrossSectionMsg:
        """The message for an engine ``BarSlice`` (``symbols`` in its column order)."""
        return cls(
            bar.ts_ns, timeframe, symbols, bar.open, bar.high, bar.low, bar.close, bar.volume
        )

    def bars(self) -> list[BarMsg]:
        """The bars present (close not NaN), one message per symbol."""
        idx = np.flatnonzero(~np.isnan(self.close))
        o, h, lo, c, v = (getattr(self, n)[idx].tolist() for n in _ARRAYS)
        return [
            BarMsg(self.symbols[i], self.timeframe, self.ts_ns, o[k], h[k], lo[k], c[k], v[k])
            for k, i in enumerate(idx.tolist())
        ]


@dataclass(frozen=True, slots=True)
class SignalMsg:
    """A strategy's view of one symbol: direction +1/0/-1 (NaN = no opinion) and an
    optional confidence in [0, 1]."""

    KIND: ClassVar[int] = 3
    TOPIC: ClassVar[Topic] = Topic.SIGNALS

    ts_ns: int
    source: str
    symbol: str
    direction: float
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class OrderMsg:
    """A snapshot of an order (``model.orders.Order``), sent when created or changed."""

    KIND: ClassVar[int] = 4
    TOPIC: ClassVar[Topic] = Topic.ORDERS

    ts_ns: int
    order_id: int
    symbol: str
    sid: int
    side: int
    quantity: float
    order_type: str = OrderType.MARKET.value
    limit_price: float | None = None
    stop_price: float | None = None
    tif: str = TimeInForce.GTC.value
    notional: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    parent_id: int | None = None
    oco_group: int | None = None
    tag: str = ""
    status: str = OrderStatus.PENDING.value
    filled_qty: float = 0.0
    avg_fill_price: float = 0.0
    reason: str = ""

    @classmethod
    def from_order(cls, order: Order, ts_ns: int | None = None) -> OrderMsg:
        """The message for ``order`` as of ``ts_ns`` (default: its creation time)."""
        return cls(
            ts_ns=order.created_ns if ts_ns is None else ts_ns,
            order_id=order.id,
            symbol=order.symbol,
            sid=order.sid,
            side=int(order.side),
            quantity=order.quantity,
            order_type=order.type.value,
            limit_price=order.limit_price,
            stop_price=order.stop_price,
            tif=order.tif.value,
            notional=order.notional,
            stop_loss=order.stop_loss,
            take_profit=order.take_profit,
            parent_id=order.parent_id,
            oco_group=order.oco_group,
            tag=order.tag,
            status=order.status.value,
            filled_qty=order.filled_qty,
            avg_fill_price=order.avg_fill_price,
            reason=order.reason,
        )

    def to_order(self, created_ns: int | None = None) -> Order:
        """A new ``Order`` with this state (``created_ns`` defaults to ``ts_ns``)."""
        return Order(
            id=self.order_id,
            symbol=self.symbol,
            sid=self.sid,
            side=Side(self.side),
            quantity=self.quantity,
            created_ns=self.ts_ns if created_ns is None else created_ns,
            type=OrderType(self.order_type),
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tif=TimeInForce(self.tif),
            notional=self.notional,
            stop_loss=self.stop_loss,
            take_profit=self.take_profit,
            parent_id=self.parent_id,
            oco_group=self.oco_group,
            tag=self.tag,
            status=OrderStatus(self.status),
            filled_qty=self.filled_qty,
            avg_fill_price=self.avg_fill_price,
            reason=self.reason,
        )


@dataclass(frozen=True, slots=True)
class FillMsg:
    """An execution (``model.orders.Fill``)."""

    KIND: ClassVar[int] = 5
    TOPIC: ClassVar[Topic] = Topic.FILLS

    order_id: int
    symbol: str
    sid: int
    side: int
    quantity: float
    price: float
    fee: float
    ts_ns: int
    bar_index: int
    liquidity: str = "taker"
    slippage: float = 0.0
    tag: str = ""

    @classmethod
    def from_fill(cls, fill: Fill) -> FillMsg:
        """The message for an engine fill."""
        values = fill._asdict()
        values["side"] = int(fill.side)
        return cls(**values)

    def to_fill(self) -> Fill:
        """The engine ``Fill``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["side"] = Side(self.side)
        return Fill(**values)


@dataclass(frozen=True, slots=True)
class RiskMsg:
    """Something the risk stage did or saw (``engine.stages.RiskEvent``)."""

    KIND: ClassVar[int] = 6
    TOPIC: ClassVar[Topic] = Topic.RISK

    ts_ns: int
    kind: str
    reason: str
    symbol: str = ""
    order_id: int | None = None
    detail: str = ""

    @classmethod
    def from_event(cls, event: RiskEvent) -> RiskMsg:
        """The message for a risk event."""
        return cls(**{f.name: getattr(event, f.name) for f in fields(event)})

    def to_event(self) -> RiskEvent:
        """The engine ``RiskEvent``."""
        return RiskEvent(**{f.name: getattr(self, f.name) for f in fields(self)})


@dataclass(frozen=True, slots=True)
class AnomalyMsg:
    """An anomaly detected in the data or a run (``symbol`` '' when not about one)."""

    KIND: ClassVar[int] = 7
    TOPIC: ClassVar[Topic] = Topic.ANOMALIES

    ts_ns: int
    symbol: str
    kind: str
    score: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RegimeMsg:
    """A strategy's regime at one bar: the detector's ``regime`` of series ``symbol``
    (a symbol, or ``market``), ``probs`` per label of ``labels`` (NaN in warmup), bars
    since it changed; ``previous`` is the regime in force before when the strategy's
    regime changed at this bar ('' otherwise)."""

    KIND: ClassVar[int] = 8
    TOPIC: ClassVar[Topic] = Topic.REGIMES

    ts_ns: int
    source: str
    symbol: str
    regime: str
    bars_since: int
    labels: tuple[str, ...]
    probs: FloatArray
    previous: str = ""


Message = (
    BarMsg | CrossSectionMsg | SignalMsg | OrderMsg | FillMsg | RiskMsg | AnomalyMsg | RegimeMsg
)
MESSAGE_TYPES: tuple[type[Message], ...] = (
    BarMsg,
    CrossSectionMsg,
    SignalMsg,
    OrderMsg,
    FillMsg,
    RiskMsg,
    AnomalyMsg,
    RegimeMsg,
)
