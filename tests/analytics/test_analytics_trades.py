"""round_trips / open_positions: hand-computed FIFO cases and accounting invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapulse.analytics.trades import (
    OPEN_POSITION_COLUMNS,
    ROUND_TRIP_COLUMNS,
    open_positions,
    round_trips,
    traded_notional,
)
from alphapulse.model.orders import Fill, Side

DAY_NS = 86_400 * 1_000_000_000
T0 = pd.Timestamp("2024-01-02", tz="UTC").value


def fill(side: Side, qty: float, price: float, fee: float, bar: int, symbol: str = "AAA") -> Fill:
    return Fill(
        order_id=bar,
        symbol=symbol,
        sid=0,
        side=side,
        quantity=qty,
        price=price,
        fee=fee,
        ts_ns=T0 + bar * DAY_NS,
        bar_index=bar,
    )


def ts(bar: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + bar * DAY_NS, tz="UTC")


def rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def test_simple_long_with_fees() -> None:
    rt = round_trips([fill(Side.BUY, 10, 100.0, 1.0, 0), fill(Side.SELL, 10, 110.0, 1.1, 3)])
    assert list(rt.columns) == list(ROUND_TRIP_COLUMNS)
    (row,) = rows(rt)
    assert row["symbol"] == "AAA" and row["side"] == "long"
    assert row["entry_time"] == ts(0) and row["exit_time"] == ts(3)
    assert row["entry_price"] == 100.0 and row["exit_price"] == 110.0
    assert row["quantity"] == 10 and row["bars_held"] == 3
    assert row["fees"] == pytest.approx(2.1)
    assert row["pnl"] == pytest.approx(100.0 - 2.1)
    assert row["return_pct"] == pytest.approx(97.9 / 1000.0)
    assert str(rt["entry_time"].dt.tz) == "UTC"
    assert open_positions([fill(Side.BUY, 1, 1.0, 0.0, 0), fill(Side.SELL, 1, 1.0, 0.0, 1)]).empty


def test_partial_exits_split_the_entry_fee() -> None:
    rt = round_trips(
        [
            fill(Side.BUY, 10, 100.0, 2.0, 0),
            fill(Side.SELL, 4, 105.0, 0.8, 1),
            fill(Side.SELL, 6, 95.0, 1.2, 2),
        ]
    )
    assert rt["quantity"].tolist() == [4, 6]
    assert rt["fees"].to_numpy() == pytest.approx([0.8 + 0.8, 1.2 + 1.2])
    assert rt["pnl"].to_numpy() == pytest.approx([4 * 5 - 1.6, 6 * -5 - 2.4])
    assert rt["bars_held"].tolist() == [1, 2]


def test_scaling_in_and_out_is_fifo() -> None:
    fills = [
        fill(Side.BUY, 5, 100.0, 1.0, 0),
        fill(Side.BUY, 5, 110.0, 1.0, 1),
        fill(Side.SELL, 7, 120.0, 1.4, 2),
    ]
    rt = round_trips(fills)
    assert rt["entry_price"].tolist() == [100.0, 110.0]
    assert rt["quantity"].tolist() == [5, 2]
    # lot 1: its whole fee 1.0 + 5/7 of 1.4; lot 2: 2/5 of 1.0 + 2/7 of 1.4
    assert rt["fees"].to_numpy() == pytest.approx([2.0, 0.8])
    assert rt["pnl"].to_numpy() == pytest.approx([5 * 20 - 2.0, 2 * 10 - 0.8])
    assert rt["entry_time"].tolist() == [ts(0), ts(1)]
    (pos,) = rows(open_positions(fills))
    assert list(open_positions(fills).columns) == list(OPEN_POSITION_COLUMNS)
    assert pos["side"] == "long" and pos["quantity"] == pytest.approx(3)
    assert pos["avg_entry_price"] == 110.0 and pos["entry_time"] == ts(1)
    assert pos["fees"] == pytest.approx(0.6) and pos["n_lots"] == 1


def test_flip_closes_the_long_and_opens_a_short() -> None:
    fills = [fill(Side.BUY, 10, 100.0, 1.0, 0), fill(Side.SELL, 15, 110.0, 3.0, 1)]
    (long_row,) = rows(round_trips(fills))
    assert long_row["side"] == "long" and long_row["quantity"] == 10
    assert long_row["fees"] == pytest.approx(1.0 + 2.0)
    assert long_row["pnl"] == pytest.approx(100.0 - 3.0)
    (short,) = rows(open_positions(fills))
    assert short["side"] == "short" and short["quantity"] == pytest.approx(5)
    assert short["avg_entry_price"] == 110.0 and short["fees"] == pytest.approx(1.0)

    rt = round_trips([*fills, fill(Side.BUY, 5, 100.0, 0.5, 4)])
    short_row = rows(rt)[1]
    assert short_row["side"] == "short" and short_row["entry_time"] == ts(1)
    assert short_row["pnl"] == pytest.approx(5 * 10 - 1.5)
    assert short_row["return_pct"] == pytest.approx(48.5 / 550.0)
    assert short_row["bars_held"] == 3
    assert open_positions([*fills, fill(Side.BUY, 5, 100.0, 0.5, 4)]).empty


def test_symbols_are_matched_separately_and_fills_sorted_by_time() -> None:
    fills = [
        fill(Side.SELL, 2, 50.0, 0.0, 3, "BBB"),
        fill(Side.BUY, 1, 10.0, 0.0, 0, "AAA"),
        fill(Side.BUY, 2, 40.0, 0.0, 1, "BBB"),
        fill(Side.SELL, 1, 12.0, 0.0, 2, "AAA"),
    ]
    rt = round_trips(fills)
    assert rt["symbol"].tolist() == ["AAA", "BBB"]
    assert rt["pnl"].tolist() == [2.0, 20.0]


def test_float_residue_does_not_leave_dust() -> None:
    fills = [
        fill(Side.BUY, 0.1, 10.0, 0.0, 0),
        fill(Side.BUY, 0.2, 10.0, 0.0, 1),
        fill(Side.SELL, 0.3, 11.0, 0.0, 2),
    ]
    assert len(round_trips(fills)) == 2
    assert open_positions(fills).empty


def test_empty_and_custom_converter() -> None:
    rt = round_trips([])
    assert rt.empty and list(rt.columns) == list(ROUND_TRIP_COLUMNS)
    assert open_positions([]).empty
    assert traded_notional([]) == 0.0

    def shifted(ns: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(ns + DAY_NS, unit="ns", utc=True))

    fills = [fill(Side.SELL, 1, 10.0, 0.0, 0), fill(Side.BUY, 1, 9.0, 0.0, 1)]
    assert round_trips(fills, shifted)["exit_time"].tolist() == [ts(2)]
    assert traded_notional(fills) == 19.0


def test_rejects_non_positive_quantity() -> None:
    bad = Fill(1, "AAA", 0, Side.BUY, 0.0, 1.0, 0.0, T0, 0)
    with pytest.raises(ValueError):
        round_trips([bad])


fill_lists = st.lists(
    st.tuples(
        st.sampled_from(["AAA", "BBB"]),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 20),
        st.floats(1.0, 200.0),
        st.floats(0.0, 5.0),
    ),
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(fill_lists, st.floats(1.0, 200.0))
def test_cash_accounting_identity(
    raw: list[tuple[str, Side, int, float, float]], mark: float
) -> None:
    """Realised + open pnl at ``mark`` equals the cash flows marked at ``mark`` (all symbols)."""
    fills = [fill(side, q, p, f, i, sym) for i, (sym, side, q, p, f) in enumerate(raw)]
    rt, pos = round_trips(fills), open_positions(fills)
    sign = np.where(pos["side"] == "long", 1.0, -1.0)
    open_pnl = sign * (mark - pos["avg_entry_price"]) * pos["quantity"] - pos["fees"]
    signed = np.array([float(f.signed_qty) for f in fills])
    price = np.array([f.price for f in fills])
    cash = -(signed * price).sum() + signed.sum() * mark - sum(f.fee for f in fills)
    assert rt["pnl"].sum() + open_pnl.sum() == pytest.approx(cash, rel=1e-9, abs=1e-6)
    assert rt["fees"].sum() + pos["fees"].sum() == pytest.approx(
        sum(f.fee for f in fills), abs=1e-9
    )
    for symbol in ("AAA", "BBB"):
        net = sum(float(f.signed_qty) for f in fills if f.symbol == symbol)
        held = pos.loc[pos["symbol"] == symbol]
        held_qty = float((np.where(held["side"] == "long", 1, -1) * held["quantity"]).sum())
        assert held_qty == pytest.approx(net, abs=1e-9)
    assert (rt["quantity"] > 0).all()
    assert (rt["exit_time"] >= rt["entry_time"]).all()


def test_rows_carry_their_position_and_positions_count_once() -> None:
    """A position built and closed in several fills (an execution algorithm's children)
    is one position: its rows share a number, and ``position_pnl`` sums them; flat then
    in again, or a flip, starts the next one (numbered per symbol)."""
    from alphapulse.analytics.trades import position_pnl

    fills = [
        fill(Side.BUY, 5, 100.0, 0.0, 0),
        fill(Side.BUY, 5, 102.0, 0.0, 1),  # scaled in
        fill(Side.SELL, 4, 101.0, 0.0, 2),  # out in three: +4, then -1 + 5 x -1 ...
        fill(Side.SELL, 6, 99.0, 0.0, 3),  # ... flat: position 1 lost 4 - 1 - 15 = -12
        fill(Side.BUY, 3, 100.0, 0.0, 4, symbol="BBB"),  # another symbol: its own 1
        fill(Side.BUY, 2, 100.0, 0.0, 5),  # in again: position 2
        fill(Side.SELL, 5, 103.0, 0.0, 6),  # a flip: closes 2 (+6), opens a short of 3
        fill(Side.BUY, 3, 101.0, 0.0, 7),  # the short closes: position 3, +6
        fill(Side.SELL, 3, 90.0, 0.0, 8, symbol="BBB"),  # BBB's position 1: -30
    ]
    rt = round_trips(fills)
    assert list(zip(rt["symbol"], rt["position"], strict=True)) == [
        ("AAA", 1), ("AAA", 1), ("AAA", 1), ("AAA", 2), ("AAA", 3), ("BBB", 1)
    ]  # fmt: skip
    assert position_pnl(rt).tolist() == pytest.approx([-12.0, 6.0, 6.0, -30.0])
    assert position_pnl(rt.drop(columns="position")).tolist() == rt["pnl"].tolist()
    assert position_pnl(rt.iloc[:0]).size == 0
