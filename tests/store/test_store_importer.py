"""Importing files into the store: every bad-input class gives a message naming file,
row and rule, and leaves what is already stored untouched; quarantine keeps the clean
rows; re-imports are idempotent; backtest runs are recorded and read back."""

from __future__ import annotations

import contextlib
import io
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


def _bar_rows(n: int, start: int = 0, bump: range = range(0)) -> list[str]:
    """``n`` daily rows from day ``start``; rows whose day is in ``bump`` get new prices."""
    rows = []
    for day in range(start, start + n):
        date = (pd.Timestamp("2020-01-01") + pd.Timedelta(days=day)).date()
        p = 100 + day + (0.5 if day in bump else 0.0)
        rows.append(f"{date},{p},{p + 1},{p - 1},{p + 0.25},{1000 + day}")
    return rows


def _conflict_setup(store: Store, tmp_path: Path, *, descending: bool = False) -> Path:
    """100 stored bars (days 0-99) and a file of days 20-119: 20 identical, 60 with other
    prices (days 40-99, file lines 22-81) and 20 new."""
    import_source(store, str(_csv(tmp_path / "XYZ.csv", _bar_rows(100))), timeframe="1d")
    rows = _bar_rows(100, start=20, bump=range(40, 100))
    folder = tmp_path / "new"
    folder.mkdir()
    return _csv(folder / "XYZ.csv", rows[::-1] if descending else rows)


@pytest.mark.parametrize("descending", [False, True])
def test_conflict_reject_names_first_line_and_changes_nothing(
    store: Store, tmp_path: Path, descending: bool
) -> None:
    path = _conflict_setup(store, tmp_path, descending=descending)
    before = store.read_bars("XYZ", "1d")
    with pytest.raises(DataError) as exc:
        import_source(store, str(path), timeframe="1d")  # reject is the default
    msg = str(exc.value)
    # the first conflicting line is 22: day 40 (ascending) or day 99 (newest first)
    line, day, old = (22, 99, 199.0) if descending else (22, 40, 140.0)
    when = pd.Timestamp("2020-01-01", tz="UTC") + pd.Timedelta(days=day)
    assert f"file {path}, line {line}, rule conflict: 60 bars differ" in msg
    assert f"XYZ {when}: stored open={old:g} " in msg
    assert f"vs new open={old + 0.5:g} " in msg
    assert "\n" not in msg
    pd.testing.assert_frame_equal(store.read_bars("XYZ", "1d"), before)  # nor the 20 new bars
    failed = store.read_imports().iloc[-1]
    assert failed["status"] == "failed"
    assert failed["detail"] == {"on_conflict": "reject", "conflicts": 60}


def test_conflict_skip_keeps_stored_bars_and_stores_new_ones(store: Store, tmp_path: Path) -> None:
    path = _conflict_setup(store, tmp_path)
    before = store.read_bars("XYZ", "1d")
    res = import_source(store, str(path), timeframe="1d", on_conflict="skip")
    assert (res.summary.rows_read, res.summary.rows_written, res.summary.conflicts) == (100, 20, 60)
    after = store.read_bars("XYZ", "1d")
    assert len(after) == 120
    pd.testing.assert_frame_equal(after.iloc[:100], before)
    assert after["open"].iloc[100:].tolist() == [100.0 + d for d in range(100, 120)]
    row = store.read_imports().iloc[-1]
    assert row["status"] == "completed" and row["detail"]["conflicts"] == 60
    assert row["detail"]["on_conflict"] == "skip"


def test_conflict_replace_overwrites_and_counts(store: Store, tmp_path: Path) -> None:
    path = _conflict_setup(store, tmp_path)
    res = import_source(store, str(path), timeframe="1d", on_conflict="replace")
    assert (res.summary.rows_written, res.summary.conflicts) == (80, 60)
    after = store.read_bars("XYZ", "1d")
    expected = [100.0 + d + (0.5 if 40 <= d < 100 else 0.0) for d in range(120)]
    assert after["open"].tolist() == expected
    assert store.read_imports().iloc[-1]["detail"]["on_conflict"] == "replace"
    again = import_source(store, str(path), timeframe="1d")  # identical now: no conflict
    assert (again.summary.rows_written, again.summary.conflicts) == (0, 0)


def _main(argv: list[str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``alphapulse argv`` run in-process."""
    from alphapulse.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_cli_on_conflict(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite")
    path = _csv(tmp_path / "XYZ.csv", _bar_rows(3))
    argv = ["data", "import", str(path), "--timeframe", "1d", "--db", db]
    assert _main(argv)[0] == 0
    _csv(path, _bar_rows(4, bump=range(1, 2)))
    rc, _, err = _main(argv)
    assert rc == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and f"file {path}, line 3, rule conflict: 1 bar differs" in err
    rc, _, err = _main([*argv, "--on-conflict", "maybe"])
    assert rc == 2 and "--on-conflict must be reject, replace or skip" in err
    rc, out, _ = _main([*argv, "--on-conflict", "skip"])
    assert rc == 0 and "conflicts" in out and "1 skipped" in out
    rc, out, _ = _main(["data", "show", "XYZ", "--db", db])
    assert "XYZ 1d: 4 bars" in out


def test_bad_action_cell_stores_nothing_and_names_the_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "ACT.csv"
    rows = ["2024-01-02,10,11,9,10.5,1000,0,1", "2024-01-03,10,11,9,10.5,1000,inf,1"]
    path.write_text("\n".join(["date,open,high,low,close,volume,dividend,split", *rows]))
    with pytest.raises(DataError, match="non_finite") as exc:
        import_source(store, str(path), timeframe="1d")
    assert (exc.value.path, exc.value.row, exc.value.field) == (str(path), 3, "dividend")
    assert store.read_bars("ACT", "1d").empty
    assert store.read_corporate_actions().empty


def test_bars_actions_and_quarantine_are_one_transaction(store: Store) -> None:
    from alphapulse.store.imports import ImportExtras

    stamps = pd.date_range("2024-01-02", periods=2, tz="UTC")
    prices = {"open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5, "volume": 1.0}
    bars = pd.DataFrame({"symbol": "AB", "timestamp": stamps, **prices})
    bad = pd.DataFrame(
        {"symbol": ["AB"], "ex_date": ["2024-01-03"], "action": "split", "value": -2.0}
    )
    with pytest.raises(DataError, match="split ratio"):
        store.import_bars([bars], "1d", import_id="one", extras=ImportExtras(actions=bad))
    assert store.read_bars("AB", "1d").empty
    assert store.read_imports().iloc[-1]["status"] == "failed"
    good = bad.assign(value=2.0)
    quarantined = pd.DataFrame({"file": ["f.csv"], "row": [3], "rule": ["r"], "reason": ["x"]})
    extras = ImportExtras(actions=good, quarantine=quarantined, rows_quarantined=1)
    summary = store.import_bars([bars], "1d", import_id="one", extras=extras)
    assert (summary.rows_written, summary.rows_quarantined) == (2, 1)
    assert (summary.detail["actions"], summary.detail["quarantine_rows"]) == (1, 1)
    assert len(store.read_corporate_actions("AB")) == 1 and len(store.read_quarantine("one")) == 1
