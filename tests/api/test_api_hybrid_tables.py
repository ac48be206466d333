"""``POST /runs`` stores a strategy's extra tables as ``backtest --record`` does: a
hybrid run's regime per bar lands in the ``regimes`` table, equal to the run's
``regimes.csv`` frame."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from alphapulse.config import parse_config
from alphapulse.engine.runner import Tables, load_data, run_backtest
from alphapulse.store import open_store

from .conftest import AUTH, wait_finished

HYBRID_RUN = {
    "name": "api-hybrid",
    "data": {
        "source": "sp500_daily_2013_2018",
        "symbols": ["AAPL", "MSFT", "KO"],
        "end": "2014-06-30",
    },
    "strategies": [
        {
            "strategy": "hybrid",
            "name": "hy",
            "params": {
                "experts": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
                "detector": {"kind": "vol", "lookback": 250},
                "regimes": {"calm": {}, "high_vol": {"gross": 0.5}},
            },
        }
    ],
}


def test_api_hybrid_run_stores_its_regimes(
    client: TestClient, sqlite_url: str, shared_data: Path
) -> None:
    res = client.post("/runs", json=HYBRID_RUN, headers=AUTH)
    assert res.status_code == 202, res.text
    rid = res.json()["runs"][0]["id"]
    assert wait_finished(client, [rid]) == ["finished"]
    cfg = parse_config(HYBRID_RUN)
    tables: dict[str, Tables] = {}
    run_backtest(cfg, load_data(cfg), workers=1, tables=tables)
    want = tables["hy"]["regimes"]
    with open_store(sqlite_url) as store:
        got = store.read_table("regimes", rid).sort_values("ts").reset_index(drop=True)
    assert len(got) == len(want) and (want["regime"] != "warmup").any()
    assert set(got["strategy"]) == {"hy"} and set(got["symbol"]) == {"market"}
    assert got["ts"].tolist() == want["timestamp"].astype("int64").tolist()
    assert got["regime"].tolist() == want["regime"].tolist()
    assert got["bars_since_change"].tolist() == want["bars_since"].tolist()
