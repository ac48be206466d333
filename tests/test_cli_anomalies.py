"""``alphapulse anomalies scan``: counts table, CSV columns, clean errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphapulse.cli import main


def _scan(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(["anomalies", "scan", *args])
        raise SystemExit(0)
    return int(exc.value.code or 0)


def test_scan_writes_csv_and_counts(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.csv"
    args = ["sp500_daily_2013_2018", "--symbols", "AAPL,MSFT", "--symbols", "XOM"]
    args += ["--start", "2014-01-01", "--end", "2016-12-31", "--min-severity", "medium"]
    assert _scan([*args, "--root", str(shared_data), "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["timestamp", "symbol", "type", "severity", "score", "message"]
    assert len(df) > 0 and set(df["symbol"].dropna()) <= {"AAPL", "MSFT", "XOM"}
    assert df.loc[df["symbol"].isna(), "type"].eq("market_move").all()  # market-wide: no symbol
    assert set(df["severity"]) <= {"MEDIUM", "HIGH", "CRITICAL"}
    assert df["timestamp"].min() >= "2014-01-01"
    printed = capsys.readouterr().out
    assert "Anomalies by type and severity" in printed and f"{len(df)} anomalies" in printed


def test_scan_config_block(shared_data: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text("anomalies: {price: {low: 2, medium: 3, high: 4, critical: 5}}\n")
    out = tmp_path / "a.csv"
    args = ["sp500_daily_2013_2018", "--symbols", "AAPL", "--root", str(shared_data)]
    assert _scan([*args, "--config", str(cfg), "--out", str(out)]) == 0
    loose = pd.read_csv(out)
    assert _scan([*args, "--out", str(out)]) == 0
    assert (loose["type"] == "price_jump").sum() > (pd.read_csv(out)["type"] == "price_jump").sum()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--min-severity", "huge"], "--min-severity"),
        (["--config", "{cfg}"], "price.low"),
        (["--symbols", "NOPE"], "NOPE"),
        (["--out", "{dir}"], "a folder, not a CSV file"),  # (before the scan)
    ],
)
def test_scan_errors_are_one_line(
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    needle: str,
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("anomalies: {price: {low: -1, medium: 3, high: 4, critical: 5}}\n")
    extra = [x.replace("{cfg}", str(cfg)).replace("{dir}", str(tmp_path)) for x in extra]
    args = ["sp500_daily_2013_2018", "--root", str(shared_data), "--out", str(tmp_path / "x.csv")]
    assert _scan([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
