"""Importing files into the store: every bad-input class gives a message naming file,
row and rule, and leaves what is already stored untouched; quarantine keeps the clean
rows; re-imports are idempotent; backtest runs are recorded and read back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.config import parse_config
from alphapulse.core.errors import DataError
from alphapulse.data.importer import import_source
from alphapulse.engine.outputs import summary
from alphapulse.engine.recording import data_hash, record_run
from alphapulse.engine.runner import run_backtest
from alphapulse.store import Store

HEADER = "date,open,high,low,close,volume\n"
GOOD = [
    "2024-01-02,10,11,9,10.5,1000",
    "2024-01-03,10.5,11.5,10,11,1200",
    "2024-01-04,11,12,10.5,11.5,900",
    "2024-01-05,11.5,12,11,11.8,1100",
]


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def _scaled(row: str, k: float) -> str:
    date, *nums = row.split(",")
    prices = [f"{float(x) * k:.4f}" for x in nums[:4]]
    return ",".join([date, *prices, nums[4]])


BAD = {  # rule -> (row index to replace (0-based data row), bad row)
    "missing_value": (2, "2024-01-04,,12,10.5,11.5,900"),
    "non_positive_price": (2, "2024-01-04,11,12,-1,11.5,900"),
    "high_low_bound": (2, "2024-01-04,11,10,10.5,11.5,900"),
    "negative_volume": (2, "2024-01-04,11,12,10.5,11.5,-5"),
    "duplicate_timestamp": (2, "2024-01-03,11,12,10.5,11.5,900"),
    "out_of_order": (3, "2024-01-01,11.5,12,11,11.8,1100"),
}


@pytest.mark.parametrize("rule", sorted(BAD))
def test_reject_names_file_row_rule_and_keeps_stored_data(
    store: Store, tmp_path: Path, rule: str
) -> None:
    good = _csv(tmp_path / "XYZ.csv", GOOD)
    import_source(store, str(good), timeframe="1d")
    before = store.read_bars("XYZ", "1d")
    assert len(before) == 4

    i, bad_row = BAD[rule]
    rows = [_scaled(r, 1.01) for r in GOOD]  # new values everywhere...
    rows[i] = bad_row  # ...and one bad row
    bad = _csv(tmp_path / "XYZ_new.csv", rows)
    with pytest.raises(DataError) as exc:
        import_source(store, str(bad), symbols=None, timeframe="1d", on_bad="reject")
    msg = str(exc.value)
    assert str(bad) in msg
    assert f"line {i + 2}" in msg  # header is line 1
    assert rule in msg
    after = store.read_bars("XYZ_NEW", "1d")
    assert after.empty  # nothing of the rejected file was stored
    pd.testing.assert_frame_equal(store.read_bars("XYZ", "1d"), before)


def test_quarantine_stores_clean_rows_and_reasons(store: Store, tmp_path: Path) -> None:
    rows = list(GOOD)
    rows[1] = "2024-01-03,10.5,9,10,11,1200"  # high below low
    path = _csv(tmp_path / "ABC.csv", rows)
    res = import_source(store, str(path), timeframe="1d", on_bad="quarantine")
    assert res.summary.rows_written == 3
    assert res.summary.rows_quarantined == 1
    q = store.read_quarantine(res.summary.import_id)
    assert len(q) >= 1
    assert set(q["rule"]) == {"high_low_bound"}
    assert (q["row"] == 3).all()
    stored = store.read_bars("ABC", "1d")
    assert len(stored) == 3
    assert pd.Timestamp("2024-01-03", tz="UTC") not in stored.index
    # idempotent: the same import again changes nothing
    again = import_source(store, str(path), timeframe="1d", on_bad="quarantine")
    assert again.summary.rows_written == 0
    pd.testing.assert_frame_equal(store.read_bars("ABC", "1d"), stored)


def test_import_real_dataset_with_actions(store: Store, shared_data: Path) -> None:
    res = import_source(store, "daily_adjusted_with_actions_1999_2020", ["AAPL"])
    assert res.summary.timeframe == "1d"
    assert res.summary.rows_written == 5303
    actions = store.read_corporate_actions("AAPL")
    splits = actions[actions["action"] == "split"]
    assert len(splits) == 4  # 2000, 2005, 2014, 2020
    assert (actions["action"] == "dividend").sum() == 34


def test_backtest_run_recorded_and_consistent(store: Store, shared_data: Path) -> None:
    cfg = parse_config(
        {
            "name": "rec",
            "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "KO"]},
            "strategies": [{"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}],
        }
    )
    from alphapulse.engine.runner import load_data

    panel = load_data(cfg)
    r = run_backtest(cfg, panel)["sma_cross"]
    s = summary(r)
    run_id = record_run(store, cfg, "sma_cross", r, s, data_hash(panel))
    run = store.read_run(run_id)
    assert run is not None and run["status"] == "finished"
    assert run["data_hash"] == data_hash(panel)
    fills = store.read_table("fills", run_id)
    assert len(fills) == len(r.fills)
    cash = store.read_cash(run_id)
    assert cash is not None
    assert cash["cash"] == pytest.approx(r.cash[-1], rel=1e-9)
    pos = store.read_positions(run_id).set_index("symbol")["quantity"]
    for sid, sym in enumerate(r.symbols):
        assert pos.get(sym, 0.0) == pytest.approx(r.final_positions[sid])
    assert np.isfinite(s["final_equity"])


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_cli_import_reject_and_validate(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    rows = list(GOOD)
    rows[2] = "2024-01-04,11,12,10.5,11.5,-5"
    path = _csv(tmp_path / "BAD.csv", rows)
    res = _cli(["data", "import", str(path), "--timeframe", "1d", "--db", db], tmp_path)
    assert res.returncode == 2
    assert "line 4" in res.stderr and "negative_volume" in res.stderr and str(path) in res.stderr
    assert "Traceback" not in res.stderr
    res = _cli(["data", "validate", str(path)], tmp_path)
    assert res.returncode == 2 and "negative_volume" in res.stdout
    res = _cli(["data", "validate", str(path), "--strict"], tmp_path)
    assert res.returncode == 2
    res = _cli(
        ["data", "import", str(path), "--timeframe", "1d", "--on-bad", "quarantine", "--db", db],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    res = _cli(["data", "show", "BAD", "--db", db], tmp_path)
    assert "BAD 1d: 3 bars" in res.stdout
