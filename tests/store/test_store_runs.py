"""Runs, run outputs, imports, quarantine and corporate actions."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from store_helpers import MINUTE, T0

from alphapulse.core.errors import DataError
from alphapulse.store import ImportSummary, Store

TS = pd.to_datetime([T0 + i * MINUTE for i in range(3)], unit="ns", utc=True)


def test_record_and_finish_run(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"strategy": "sma", "fast": np.int64(5), "slow": 20.0, "bad": math.nan, "tags": ("a",)}
    run_id = store.record_run("sma", config, data_hash="abc123", initial_cash=1e6)
    run = store.read_run(run_id)
    assert run is not None
    assert run["config"] == {"strategy": "sma", "fast": 5, "slow": 20.0, "bad": None, "tags": ["a"]}
    assert run["status"] == "running" and run["data_hash"] == "abc123"
    assert run["code_version"]  # a git sha here, the package version elsewhere
    assert run["started_at"].tzinfo is not None and run["finished_at"] is None
    store.finish_run(run_id, metrics={"sharpe": 1.5, "cagr": np.float64(0.1)})
    run = store.read_run(run_id)
    assert run is not None
    assert run["status"] == "finished" and run["metrics"] == {"sharpe": 1.5, "cagr": 0.1}
    assert run["finished_at"] >= run["started_at"]
    monkeypatch.setenv("ALPHAPULSE_CODE_VERSION", "v-test")
    other = store.record_run("x", run_id="fixed-id", started_at=datetime(2024, 1, 1, tzinfo=UTC))
    assert other == "fixed-id"
    run = store.read_run(other)
    assert run is not None and run["code_version"] == "v-test"
    with pytest.raises(DataError):
        store.finish_run(run_id, status="exploded")
    with pytest.raises(DataError):
        store.finish_run("missing")


def test_recording_a_failed_run_again_marks_it_running_with_no_end(store: Store) -> None:
    run_id = store.record_run("paper", run_id="restarted", initial_cash=1e5)
    store.finish_run(run_id, status="failed", metrics={"error": "UnjournaledError: down"})
    store.record_run("paper", run_id=run_id, initial_cash=1e5)  # a paper restart
    run = store.read_run(run_id)
    assert run is not None and run["status"] == "running"
    assert run["metrics"] is None and run["finished_at"] is None


def test_write_run_outputs(store: Store) -> None:
    run_id = store.record_run("outputs", initial_cash=10_000.0)
    orders = pd.DataFrame(
        {
            "order_id": [1, 2],
            "created_at": TS[:2],
            "symbol": ["AAA", "AAA"],
            "side": ["buy", "sell"],
            "type": ["market", "limit"],
            "quantity": [10.0, 10.0],
            "notional": [None, None],
            "limit_price": [np.nan, 101.0],
            "status": ["filled", "filled"],
            "parent_id": [None, 1],
            "tag": ["open", "close"],
        }
    )
    fills = pd.DataFrame(
        {
            "order_id": [1, 2],
            "timestamp": TS[:2],
            "symbol": ["AAA", "AAA"],
            "side": ["buy", "sell"],
            "quantity": [10.0, 10.0],
            "price": [100.0, 101.0],
            "fee": [1.0, 1.0],
            "slippage": [0.1, 0.1],
            "liquidity": ["taker", "maker"],
        }
    )
    trades = pd.DataFrame(
        {
            "symbol": ["AAA"],
            "side": ["long"],
            "entry_time": TS[:1],
            "entry_price": [100.0],
            "exit_time": TS[1:2],
            "exit_price": [101.0],
            "quantity": [10.0],
            "pnl": [8.0],
            "fees": [2.0],
            "return_pct": [0.008],
            "bars_held": [1],
            "position": [1],
        }
    )
    equity = pd.DataFrame(
        {
            "timestamp": TS,
            "equity": [10_000.0, 9_999.0, 10_008.0],
            "cash": [10_000.0, 8_999.0, 10_008.0],
            "exposure": [0.0, 0.1, 0.0],
            "gross_exposure": [0.0, 1_000.0, 0.0],
            "net_exposure": [0.0, 1_000.0, 0.0],
        }
    )
    risk = pd.DataFrame(
        {"timestamp": TS[1:2], "kind": ["max_drawdown"], "severity": ["warning"],
         "message": ["drawdown 0.1%"], "value": [0.001], "detail": [{"limit": 0.2}]}
    )  # fmt: skip
    counts = store.write_run_outputs(run_id, orders, fills, trades, equity, risk)
    assert counts == {
        "orders": 2,
        "fills": 2,
        "trades": 1,
        "portfolio_snapshots": 3,
        "risk_events": 1,
    }
    again = store.write_run_outputs(run_id, orders, fills, trades, equity, risk)
    assert again["fills"] == 0
    assert len(store.read_table("orders", run_id)) == 2
    assert len(store.read_table("fills", run_id)) == 2
    snaps = store.read_table("portfolio_snapshots", run_id)
    assert snaps["market_value"].tolist() == [0.0, 1_000.0, 0.0]
    assert snaps["ts"].tolist() == [int(t.value) for t in TS]
    events = store.read_table("risk_events", run_id)
    assert events.loc[0, "detail"] == {"limit": 0.2}
    assert events.loc[0, "seq"] == 0
    assert store.read_table("trades", run_id)["position"].tolist() == [1]
    stored_orders = store.read_table("orders", run_id)
    assert stored_orders["limit_price"].tolist()[1] == 101.0
    assert stored_orders["parent_id"].tolist()[1] == 1
    cash = store.read_cash(run_id)
    assert cash is not None and cash["cash"] == 10_000.0 - 1_001.0 + 1_009.0
    positions = store.read_positions(run_id)
    assert positions.loc[0, "quantity"] == 0.0 and positions.loc[0, "realized_pnl"] == 10.0


def test_signals_predictions_anomalies(store: Store) -> None:
    run_id = store.record_run("ml")
    signals = pd.DataFrame(
        {"timestamp": TS, "symbol": "AAA", "name": "mom", "value": [0.1, 0.2, np.nan]}
    )
    assert store.write_signals(run_id, signals) == 3
    assert store.write_signals(run_id, signals.assign(value=1.0)) == 3  # upsert
    assert store.read_table("signals", run_id)["value"].tolist() == [1.0, 1.0, 1.0]
    preds = pd.DataFrame(
        {"timestamp": TS, "symbol": "AAA", "model": "gbm", "value": [1.0, 2.0, 3.0]}
    )
    assert store.write_predictions(run_id, preds) == 3
    anomalies = pd.DataFrame({"timestamp": TS[:1], "kind": ["price_jump"], "score": [4.2]})
    assert store.record_anomalies(run_id, anomalies) == 1
    assert store.read_table("anomalies", run_id).loc[0, "symbol"] == ""
    with pytest.raises(DataError):
        store.read_table("runs", run_id)


def test_imports_and_quarantine(store: Store) -> None:
    rows = pd.DataFrame(
        {
            "file": ["a.csv", "a.csv"],
            "row": [3, 9],
            "rule": ["low_le_high", "not_null"],
            "field": ["low", "close"],
            "value": [101.5, None],
            "reason": ["low above high", "missing close"],
        }
    )
    assert store.quarantine(rows, "imp-1") == 2
    assert store.quarantine(rows, "imp-1") == 0  # idempotent
    stored = store.read_quarantine("imp-1")
    assert stored.loc[0, "value"] == "101.5" and pd.isna(stored.loc[1, "value"])
    summary = ImportSummary(
        import_id="imp-1", source="csv", path="a.csv", timeframe="1m", rows_read=10,
        rows_written=8, rows_quarantined=2, symbols=("AAA",), detail={"vendor": "x"},
    )  # fmt: skip
    assert store.record_import(summary) == "imp-1"
    assert store.record_import({"import_id": "imp-2", "status": "partial", "extra": 1}) == "imp-2"
    imports = store.read_imports().set_index("import_id")
    assert imports.loc["imp-1", "status"] == "completed"
    assert imports.loc["imp-1", "symbols"] == ["AAA"]
    assert imports.loc["imp-2", "detail"] == {"extra": 1}
    with pytest.raises(DataError) as info:
        store.quarantine(rows.drop(columns=["rule"]), "imp-1")
    assert info.value.field == "rule"


def test_corporate_actions(store: Store) -> None:
    actions = pd.DataFrame(
        {
            "symbol": ["TPL", "AAPL", "AAPL"],
            "ex_date": ["2024-03-28", "2020-08-31", "2024-02-09"],
            "action": ["split", "split", "dividend"],
            "value": [3.0, 4.0, 0.24],
        }
    )
    assert store.record_corporate_actions(actions) == 3
    corrected = actions.assign(value=[3.0, 4.0, 0.25])
    assert store.record_corporate_actions(corrected) == 3
    got = store.read_corporate_actions("AAPL")
    assert got["value"].tolist() == [4.0, 0.25]
    assert str(got.loc[0, "ex_date"]) == "2020-08-31"
    assert len(store.read_corporate_actions()) == 3
    with pytest.raises(DataError) as info:
        store.record_corporate_actions(actions.assign(value=[0.0, 4.0, 0.24]))
    assert info.value.field == "value"


def test_imports_run_atomically(store: Store) -> None:
    from store_helpers import bars_frame

    frames = [bars_frame(["AAA", "BBB"], 100, start=100 * i, seed=i) for i in range(4)]
    summary = store.import_bars(iter(frames), "1min", import_id="full", source="test")
    assert (summary.status, summary.rows_read, summary.rows_written) == ("completed", 800, 800)
    assert summary.symbols == ("AAA", "BBB") and summary.timeframe == "1m"
    again = store.import_bars(iter(frames), "1m", import_id="full")
    assert again.rows_written == 0
