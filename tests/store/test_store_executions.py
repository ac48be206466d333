"""The ``executions`` table: a recorded run holds one row per parent order, the same
figures as ``executions.csv``, on SQLite and PostgreSQL; re-recording adds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.execution_quality import execution_frame
from alphapulse.config import parse_config
from alphapulse.core.errors import DataError
from alphapulse.engine.recording import record_run
from alphapulse.engine.runner import load_data, run_backtest
from alphapulse.store import Store, runs

RAW = {
    "name": "exec-rec",
    "data": {
        "source": "sp500_daily_2013_2018",
        "symbols": ["AAPL", "MSFT", "KO"],
        "end": "2014-12-31",
    },
    "strategies": [
        {"strategy": "sma_cross", "name": "plain", "params": {"fast": 5, "slow": 20}},
        {
            "strategy": "sma_cross",
            "name": "vwap",
            "params": {"fast": 5, "slow": 20},
            "execution": {"algo": "vwap", "horizon": "5d", "max_participation": 0.01},
        },
    ],
}


def test_executions_recorded_like_the_csv(store: Store, shared_data: Path) -> None:
    cfg = parse_config(RAW)
    panel = load_data(cfg)
    results = run_backtest(cfg, panel, workers=1)
    r = results["vwap"]
    want = execution_frame(r.executions, r.fills)
    assert len(want) > 10 and want["n_children"].sum() > len(want)
    rid = record_run(store, cfg, "vwap", r, {}, "d")
    got = store.read_table("executions", rid)
    assert len(got) == len(want)
    assert set(got["strategy"]) == {"vwap"}
    got = got.set_index("parent_id").loc[want["parent_id"]].reset_index()
    for col in ("symbol", "algo", "status", "n_children"):
        assert got[col].tolist() == want[col].tolist(), col
    assert got["side"].tolist() == want["side"].tolist()
    assert got["decision_ts"].tolist() == want["decision_time"].astype("int64").tolist()
    for col in ("quantity", "filled", "arrival_price", "avg_price", "shortfall_bps", "fees"):
        np.testing.assert_allclose(got[col].astype(float), want[col], rtol=1e-12, err_msg=col)
    record_run(store, cfg, "vwap", r, {}, "d", run_id=rid)  # again: upserts, no new rows
    assert len(store.read_table("executions", rid)) == len(want)
    plain = record_run(store, cfg, "plain", results["plain"], {}, "d")
    assert store.read_table("executions", plain).empty  # market orders: no parents


def test_bad_execution_frame_names_the_field() -> None:
    bad = pd.DataFrame({"parent_id": [1], "symbol": ["AAPL"], "side": ["up"]})
    with pytest.raises(DataError) as err:
        runs.execution_records(bad, "r", "s")
    assert err.value.field in ("side", "algo")
