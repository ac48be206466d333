"""Fill accounting: the PostgreSQL trigger and snapshot function agree exactly with the
Python path used on SQLite (and with the engine's Ledger)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from store_helpers import MINUTE, T0, bars_frame

from alphapulse.core.errors import DataError
from alphapulse.model.orders import Fill, Side
from alphapulse.store import Store, open_store
from alphapulse.store.accounting import CashState, FillEvent, PositionState, apply_fill

SYMBOLS = ["AAA", "BBB", "CCC"]  # CCC never has bars: marked at its average price


def fill_sequence(n: int = 60, seed: int = 3) -> list[Fill]:
    """Buys and sells that add to, reduce, close exactly and flip positions."""
    rng = np.random.default_rng(seed)
    fills, position = [], dict.fromkeys(SYMBOLS, 0.0)
    for i in range(n):
        sid = int(rng.integers(0, len(SYMBOLS)))
        symbol = SYMBOLS[sid]
        if i % 7 == 6 and position[symbol] != 0:  # close exactly
            side = Side.SELL if position[symbol] > 0 else Side.BUY
            qty = abs(position[symbol])
        else:
            side = Side.BUY if rng.random() < 0.55 else Side.SELL
            qty = float(np.round(rng.uniform(0.1, 30.0), 1))
        position[symbol] += qty if side is Side.BUY else -qty
        price = float(np.round(rng.uniform(90, 110), 4)) + 1e-7 * i
        fee = float(np.round(qty * price * 0.0005, 6))
        fills.append(Fill(1000 + i, symbol, sid, side, qty, price, fee, T0 + i * MINUTE, i))
    return fills


def book(store: Store, run_id: str, fills: list[Fill]) -> None:
    for fill in fills:
        assert store.record_fill(run_id, fill)


def state(store: Store, run_id: str) -> tuple[pd.DataFrame, dict[str, object]]:
    positions = store.read_positions(run_id).drop(columns=["run_id"]).set_index("symbol")
    cash = store.read_cash(run_id)
    assert cash is not None
    return positions, cash


def python_reference(
    fills: list[Fill], initial_cash: float
) -> tuple[dict[str, PositionState], CashState]:
    positions: dict[str, PositionState] = {}
    cash = CashState(initial_cash, initial_cash, 0.0, 0, None)
    for f in fills:
        side = "buy" if f.side is Side.BUY else "sell"
        event = FillEvent(f.symbol, side, f.quantity, f.price, f.fee, f.ts_ns)
        positions[f.symbol], cash = apply_fill(
            positions.get(f.symbol, PositionState()), cash, event
        )
    return positions, cash


def marks(store: Store) -> None:
    minute = bars_frame(["AAA", "BBB"], 80, seed=5)
    hourly = bars_frame(["AAA"], 2, seed=6)  # same timestamps as the first minute bars
    store.upsert_bars(minute, "1m")
    store.upsert_bars(hourly, "1h")


SNAPSHOT_TIMES = [T0 - MINUTE, T0, T0 + 30 * MINUTE, T0 + 500 * MINUTE]


@pytest.mark.postgres
def test_trigger_and_python_path_agree_exactly(sqlite_url: str, pg_url: str) -> None:
    fills = fill_sequence()
    results = {}
    for backend, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
        with open_store(url) as store:
            assert store.backend == backend
            marks(store)
            run_id = store.record_run("acct", run_id="acct", initial_cash=100_000.0)
            book(store, run_id, fills)
            snaps = [store.take_portfolio_snapshot(run_id, t) for t in SNAPSHOT_TIMES]
            stored = store.read_table("portfolio_snapshots", run_id)
            results[backend] = (*state(store, run_id), snaps, stored)
    (pos_a, cash_a, snaps_a, stored_a), (pos_b, cash_b, snaps_b, stored_b) = results.values()
    pd.testing.assert_frame_equal(pos_a, pos_b, check_exact=True)
    assert cash_a == cash_b
    assert snaps_a == snaps_b
    pd.testing.assert_frame_equal(stored_a, stored_b, check_exact=True)

    ref_positions, ref_cash = python_reference(fills, 100_000.0)
    for symbol, ref in ref_positions.items():
        row = pos_a.loc[symbol]
        assert (row.quantity, row.avg_price, row.realized_pnl, row.fees) == (
            ref.quantity, ref.avg_price, ref.realized_pnl, ref.fees,
        )  # fmt: skip
    assert cash_a["cash"] == ref_cash.cash and cash_a["n_fills"] == len(fills)


def test_python_path_matches_the_engine_ledger() -> None:
    ledger_mod = pytest.importorskip("alphapulse.portfolio.ledger")
    fills = fill_sequence(n=200, seed=11)
    ledger = ledger_mod.Ledger(len(SYMBOLS), 100_000.0)
    for fill in fills:
        ledger.apply(fill)
    positions, cash = python_reference(fills, 100_000.0)
    assert cash.cash == ledger.cash
    for sid, symbol in enumerate(SYMBOLS):
        p = positions.get(symbol, PositionState())
        assert (p.quantity, p.avg_price, p.realized_pnl, p.fees) == (
            ledger.qty[sid], ledger.avg_price[sid], ledger.realized[sid], ledger.fees[sid],
        )  # fmt: skip


def test_record_fill_is_atomic_and_idempotent(store: Store) -> None:
    run_id = store.record_run("idem", initial_cash=10_000.0)
    fill = Fill(1, "AAA", 0, Side.BUY, 10.0, 100.0, 1.0, T0, 0)
    assert store.record_fill(run_id, fill) is True
    assert store.record_fill(run_id, fill) is False  # same key: not booked twice
    assert store.record_fill(run_id, fill, key="second-part") is True
    positions, cash = state(store, run_id)
    assert positions.loc["AAA", "quantity"] == 20.0
    assert cash["cash"] == 10_000.0 - 2 * (10 * 100.0 + 1.0)
    assert len(store.read_table("fills", run_id)) == 2
    sell = {"order_id": 2, "ts": T0 + MINUTE, "symbol": "aaa", "side": "sell", "quantity": 5.0,
            "price": 110.0, "fee": 0.5}  # fmt: skip
    assert store.record_fill(run_id, sell)
    positions, cash = state(store, run_id)
    assert positions.loc["AAA", "realized_pnl"] == 5 * 10.0
    assert positions.loc["AAA", "quantity"] == 15.0


def test_an_unknown_run_is_a_data_error_naming_it(store: Store) -> None:
    """Both writers refuse a run id that was never recorded with the same error (the
    snapshot raised the database's foreign-key error)."""
    fill = Fill(1, "AAA", 0, Side.BUY, 10.0, 100.0, 1.0, T0, 0)
    with pytest.raises(DataError, match="unknown run 'no_such_run'"):
        store.record_fill("no_such_run", fill)
    with pytest.raises(DataError, match="unknown run 'no_such_run'"):
        store.take_portfolio_snapshot("no_such_run", T0)


def test_run_outputs_book_like_record_fill(store: Store) -> None:
    fills = fill_sequence(n=40, seed=4)
    frame = pd.DataFrame(
        {
            "order_id": [f.order_id for f in fills],
            "timestamp": pd.to_datetime([f.ts_ns for f in fills], unit="ns", utc=True),
            "symbol": [f.symbol for f in fills],
            "side": [f.side.name.lower() for f in fills],
            "quantity": [f.quantity for f in fills],
            "price": [f.price for f in fills],
            "fee": [f.fee for f in fills],
            "slippage": 0.0,
            "liquidity": "taker",
        }
    )
    a = store.record_run("one-by-one", run_id="a", initial_cash=50_000.0)
    b = store.record_run("bulk", run_id="b", initial_cash=50_000.0)
    book(store, a, fills)
    assert store.write_run_outputs(b, None, frame, None, None)["fills"] == 40
    assert store.write_run_outputs(b, None, frame, None, None)["fills"] == 0  # idempotent
    pos_a, cash_a = state(store, a)
    pos_b, cash_b = state(store, b)
    pd.testing.assert_frame_equal(pos_a, pos_b, check_exact=True)
    assert {k: v for k, v in cash_a.items() if k != "run_id"} == {
        k: v for k, v in cash_b.items() if k != "run_id"
    }


def test_snapshot_marks_at_latest_close(store: Store) -> None:
    marks(store)
    run_id = store.record_run("snap", initial_cash=1_000.0)
    store.record_fill(run_id, Fill(1, "AAA", 0, Side.BUY, 2.0, 100.0, 0.0, T0, 0))
    store.record_fill(run_id, Fill(2, "CCC", 2, Side.SELL, 1.0, 50.0, 0.0, T0, 0))
    bars = store.read_bars("AAA", "1m")
    snap = store.take_portfolio_snapshot(run_id, bars.index[10] + pd.Timedelta(seconds=30))
    close = float(bars["close"].iloc[10])
    assert snap["cash"] == 1_000.0 - 200.0 + 50.0
    assert snap["market_value"] == 2.0 * close - 50.0
    assert snap["equity"] == snap["cash"] + snap["market_value"]
    assert snap["gross_exposure"] == 2.0 * close + 50.0
    # at T0 the 1m and 1h bars tie: the finer timeframe's close is used
    at_t0 = store.take_portfolio_snapshot(run_id, T0)
    assert at_t0["market_value"] == 2.0 * float(bars["close"].iloc[0]) - 50.0
    stored = store.read_table("portfolio_snapshots", run_id)
    assert stored["ts"].tolist() == sorted(stored["ts"].tolist()) and len(stored) == 2
