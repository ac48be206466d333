"""A backtest with an ``anomalies:`` block: anomalies.csv and the anomalies table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from alphapulse.anomaly.detector import scan_panel
from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.engine.outputs import write_outputs
from alphapulse.engine.recording import record_run
from alphapulse.engine.runner import Tables, run_backtest
from alphapulse.store import open_store

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM"]


def test_anomalies_csv_and_table(shared_data: Path, tmp_path: Path) -> None:
    panel = load_panel(
        "sp500_daily_2013_2018", SYMBOLS, start="2015-01-01", end="2016-12-31", root=shared_data
    )
    raw = {
        "name": "anom",
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
        "anomalies": {"pattern": {"window": 100, "refit_every": 100, "n_estimators": 10}},
        "strategies": [{"strategy": "buy_and_hold"}, {"strategy": "sma_cross", "name": "sma"}],
    }
    cfg = parse_config(raw)
    tables: dict[str, Tables] = {}
    results = run_backtest(cfg, panel, workers=1, tables=tables)
    expected = scan_panel(panel, cfg.anomalies)  # type: ignore[arg-type]
    assert len(expected) > 5
    for label, r in results.items():
        write_outputs(r, tmp_path / label, tables[label])
        got = pd.read_csv(tmp_path / label / "anomalies.csv")
        assert list(got.columns) == list(expected.columns)
        assert got["message"].tolist() == expected["message"].tolist()
    with open_store(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        rid = record_run(
            store, cfg, "buy_and_hold", results["buy_and_hold"], {}, "d",
            anomalies=tables["buy_and_hold"]["anomalies"],
        )  # fmt: skip
        rows = store.read_table("anomalies", rid)
    assert len(rows) == len(expected)
    assert set(rows["kind"]) == set(expected["type"])
    detail = rows["detail"].iloc[0]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL") and detail["message"]


def test_no_block_no_anomalies(shared_data: Path) -> None:
    panel = load_panel("sp500_daily_2013_2018", ["AAPL"], end="2013-06-30", root=shared_data)
    raw = {"data": {"source": "x"}, "strategies": [{"strategy": "buy_and_hold"}]}
    tables: dict[str, Tables] = {}
    run_backtest(parse_config(raw), panel, workers=1, tables=tables)
    assert "anomalies" not in tables["buy_and_hold"]
