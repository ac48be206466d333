"""Message serialisation: exact round trips (floats bit for bit, int64 extremes),
rejection of bad input, and conversions from/to the engine's types."""

from __future__ import annotations

import struct
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.bus import (
    AnomalyMsg,
    BarMsg,
    CrossSectionMsg,
    FillMsg,
    Message,
    MessageError,
    OrderMsg,
    RiskMsg,
    SignalMsg,
    Topic,
    decode,
    encode,
)
from alphapulse.bus.messages import MESSAGE_TYPES, RegimeMsg
from alphapulse.engine.bars import BarSlice
from alphapulse.engine.stages import RiskEvent
from alphapulse.model.orders import Fill, Order, OrderStatus, OrderType, Side

I64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
F64 = st.floats(allow_nan=True, allow_infinity=True)
TEXT = st.text(max_size=40)
OPT_F = st.none() | F64
OPT_I = st.none() | I64


def same_bits(a: Any, b: Any) -> bool:
    """Field-by-field identity: floats and arrays compared by their IEEE bits."""
    if type(a) is not type(b):
        return False
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            ok = x.dtype == y.dtype and x.tobytes() == y.tobytes()
        elif isinstance(x, float):
            ok = isinstance(y, float) and struct.pack("<d", x) == struct.pack("<d", y)
        else:
            ok = type(x) is type(y) and x == y
        if not ok:
            return False
    return True


@st.composite
def cross_sections(draw: st.DrawFn) -> CrossSectionMsg:
    n = draw(st.integers(0, 8))
    syms = tuple(draw(st.lists(TEXT, min_size=n, max_size=n)))
    arrays = [np.array(draw(st.lists(F64, min_size=n, max_size=n)), dtype=np.float64)]
    arrays += [np.array(draw(st.lists(F64, min_size=n, max_size=n))) for _ in range(4)]
    return CrossSectionMsg(draw(I64), draw(TEXT), syms, *arrays)


ARR4 = st.lists(F64, max_size=4).map(lambda v: np.array(v, dtype=np.float64))
MESSAGES = st.one_of(
    st.builds(BarMsg, TEXT, TEXT, I64, F64, F64, F64, F64, F64),
    cross_sections(),
    st.builds(SignalMsg, I64, TEXT, TEXT, F64, OPT_F),
    st.builds(
        OrderMsg,
        *(I64, I64, TEXT, I64, I64, F64, TEXT, OPT_F, OPT_F, TEXT, OPT_F, OPT_F, OPT_F),
        *(OPT_I, OPT_I, TEXT, TEXT, F64, F64, TEXT),
    ),
    st.builds(FillMsg, I64, TEXT, I64, I64, F64, F64, F64, I64, I64, TEXT, F64, TEXT),
    st.builds(RiskMsg, I64, TEXT, TEXT, TEXT, OPT_I, TEXT),
    st.builds(AnomalyMsg, I64, TEXT, TEXT, F64, TEXT),
    st.builds(RegimeMsg, I64, TEXT, TEXT, TEXT, I64, st.tuples(TEXT, TEXT), ARR4, TEXT),
)


@settings(max_examples=300, deadline=None)
@given(MESSAGES)
def test_round_trip_is_exact(message: Message) -> None:
    data = encode(message)
    back = decode(data)
    assert same_bits(back, message)
    assert encode(back) == data


@given(st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_ints_beyond_int64_are_refused(value: int) -> None:
    with pytest.raises(MessageError, match="ts_ns"):
        encode(AnomalyMsg(ts_ns=value, symbol="", kind="k", score=0.0))


def test_nan_payloads_and_signed_zero_survive() -> None:
    odd_nan = struct.unpack("<d", bytes.fromhex("0100000000f8ff7f"))[0]  # payload 1
    neg_nan = struct.unpack("<d", bytes.fromhex("000000000000f8ff"))[0]
    values = np.array([odd_nan, neg_nan, -0.0, float("inf"), -float("inf"), 5e-324])
    msg = CrossSectionMsg(1, "1m", tuple("ABCDEF"), values, values, values, values, values)
    back = decode(encode(msg))
    assert isinstance(back, CrossSectionMsg)
    assert back.close.tobytes() == values.tobytes() and back == msg
    bar = decode(encode(BarMsg("A", "1m", 0, odd_nan, -0.0, neg_nan, 1.5, 0.0)))
    assert isinstance(bar, BarMsg)
    assert struct.pack("<d", bar.open) == struct.pack("<d", odd_nan)
    assert struct.pack("<d", bar.low) == struct.pack("<d", neg_nan)


def test_bad_bytes_are_refused() -> None:
    data = encode(SignalMsg(1, "s", "AAPL", 1.0, 0.5))
    for bad, why in [
        (b"", "truncated"),
        (data[:-1], "truncated"),
        (data + b"\x00", "trailing"),
        (b"\x02" + data[1:], "version"),
        (data[:1] + b"\x63" + data[2:], "unknown message kind"),
    ]:
        with pytest.raises(MessageError, match=why):
            decode(bad)
    with pytest.raises(MessageError, match="not a bus message"):
        encode("hello")  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="symbol"):
        encode(AnomalyMsg(0, "\ud800", "k", 0.0))


def test_encoding_is_compact() -> None:
    bar = BarMsg("AAPL", "1m", 1_704_205_800_000_000_000, 1.0, 2.0, 0.5, 1.5, 1e6)
    assert len(encode(bar)) == 2 + (4 + 4) + (4 + 2) + 8 + 5 * 8  # head, 2 strs, ts, OHLCV


def test_topics_per_kind() -> None:
    kinds = MESSAGE_TYPES
    assert len({k.TOPIC for k in kinds}) == len({k.KIND for k in kinds}) == len(kinds)
    assert BarMsg.TOPIC is Topic.BARS and Topic.CROSS_SECTIONS == "bars.cross"


def test_conversions_from_and_to_engine_types() -> None:
    fill = Fill(7, "AAPL", 3, Side.SELL, 10.0, 101.25, 0.5, 123, 4, "maker", 0.1, "exit")
    assert FillMsg.from_fill(fill).to_fill() == fill
    event = RiskEvent(5, "order_rejected", "max_position", "AAPL", 7, "too big")
    assert RiskMsg.from_event(event).to_event() == event
    order = Order(
        9, "MSFT", 1, Side.BUY, 5.0, 100, type=OrderType.LIMIT, limit_price=99.5, tag="entry"
    )
    order.status, order.filled_qty = OrderStatus.PARTIALLY_FILLED, 2.0
    om = OrderMsg.from_order(order, ts_ns=200)
    assert om.ts_ns == 200 and decode(encode(om)) == om
    back = om.to_order(created_ns=100)
    assert (back.id, back.type, back.limit_price, back.status, back.filled_qty) == (
        9,
        OrderType.LIMIT,
        99.5,
        OrderStatus.PARTIALLY_FILLED,
        2.0,
    )


def test_cross_section_from_slice_and_bars() -> None:
    nan = float("nan")
    bar = BarSlice(
        t=3,
        ts_ns=99,
        session=1,
        open=np.array([1.0, nan, 3.0]),
        high=np.array([2.0, nan, 4.0]),
        low=np.array([0.5, nan, 2.5]),
        close=np.array([1.5, nan, 3.5]),
        volume=np.array([10.0, nan, 30.0]),
    )
    cs = CrossSectionMsg.from_slice(bar, ("A", "B", "C"), "1d")
    assert not cs.close.flags.writeable and cs.close is not bar.close
    assert [b.symbol for b in cs.bars()] == ["A", "C"]
    assert cs.bars()[1] == BarMsg("C", "1d", 99, 3.0, 4.0, 2.5, 3.5, 30.0)
    with pytest.raises(ValueError, match="shape"):
        CrossSectionMsg(0, "1d", ("A",), *(np.zeros(2),) * 5)
