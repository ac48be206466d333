"""Generic file reader: sniffed CSV layouts, Parquet, and row-level errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.catalog import load_frames, load_panel
from alphapulse.data.sources.files import read_file, sniff_csv

ROWS = [
    ("2024-01-02", 10.0, 11.0, 9.5, 10.5, 1000),
    ("2024-01-03", 10.5, 12.0, 10.0, 11.5, 1200),
    ("2024-01-04", 11.5, 11.8, 11.0, 11.2, 900),
]


def _write(path: Path, text: str) -> Path:
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _csv(rows: list[tuple[object, ...]], sep: str = ",", header: str | None = None) -> str:
    lines = [header] if header else []
    lines += [sep.join(str(v) for v in r) for r in rows]
    return "\n".join(lines) + "\n"


def test_header_case_insensitive_and_newest_first(tmp_path: Path) -> None:
    header = (
        "Banner line, not data\nDate,OPEN,High,low,Close,Adj Close,Volume,Dividends,Stock Splits"
    )
    rows = [(*r[:5], r[4] * 0.9, r[5], 0.0, 1.0) for r in reversed(ROWS)]
    path = _write(tmp_path / "aapl.csv", _csv(rows, header=header))
    spec = sniff_csv(path)
    assert spec.skip_rows == 1 and spec.order == "descending" and spec.is_daily
    df = load_frames(str(path))["AAPL"]
    assert list(df.columns) == [
        "open", "high", "low", "close", "volume", "adj_close", "dividend", "split",
    ]  # fmt: skip
    assert df.index.is_monotonic_increasing and str(df.index.tz) == "UTC"
    assert df["close"].tolist() == [10.5, 11.5, 11.2]


def test_semicolon_no_header_end_stamps(tmp_path: Path) -> None:
    rows = [
        ("20110103 143100", 1.0, 2.0, 0.5, 1.5, 100),
        ("20110103 143200", 1.5, 2.0, 1.0, 1.2, 50),
    ]
    path = _write(tmp_path / "spy.txt.gz", _csv(rows, sep=";"))
    spec = sniff_csv(path)
    assert (spec.separator, spec.header, spec.timestamp.kind) == (";", False, "text")
    (bars,) = read_file(path, stamp="end")
    assert bars.symbol == "SPY"
    assert bars.frame.index[0] == pd.Timestamp("2011-01-03 14:30", tz="UTC")
    assert list(bars.lines) == [1, 2]


@pytest.mark.parametrize(("unit", "scale"), [("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)])
def test_epoch_units(tmp_path: Path, unit: str, scale: int) -> None:
    base = 1_704_205_800  # 2024-01-02 14:30 UTC
    rows = [(base * scale + i * 60 * scale, 1, 2, 0.5, 1.5, 10) for i in range(3)]
    path = _write(
        tmp_path / "x.tsv", _csv(rows, sep="\t", header="timestamp\topen\thigh\tlow\tclose\tvolume")
    )
    assert sniff_csv(path).timestamp.unit == unit
    df = load_frames(str(path))["X"]
    assert df.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")
    assert df.index[2] - df.index[0] == pd.Timedelta("2min")


def test_symbol_column_and_folder(tmp_path: Path) -> None:
    rows = [(r[0], "msft", *r[1:]) for r in ROWS] + [(r[0], "BRK.B", *r[1:]) for r in ROWS]
    _write(tmp_path / "many.csv", _csv(rows, header="date,Ticker,open,high,low,close,volume"))
    _write(tmp_path / "ko.csv.gz", _csv(ROWS, header="date,open,high,low,close,volume"))
    (tmp_path / "notes.md").write_text("ignored")
    frames = load_frames(str(tmp_path))
    assert sorted(frames) == ["BRK.B", "KO", "MSFT"]
    panel = load_panel(str(tmp_path), ["msft", "ko"], start="2024-01-03")
    assert panel.symbols == ("KO", "MSFT") and panel.n_bars == 2


def test_date_and_time_columns_with_timezone(tmp_path: Path) -> None:
    text = "Date,Time,Open,High,Low,Close,Volume\n2024-07-01,09:30,1,2,0.5,1.5,10\n"
    path = _write(tmp_path / "es.csv", text + "2024-07-01,09:31,1,2,0.5,1.5,10\n")
    (bars,) = read_file(path, timezone="America/New_York")
    assert bars.frame.index[0] == pd.Timestamp("2024-07-01 13:30", tz="UTC")


def test_parquet(tmp_path: Path) -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date")
    df = pd.DataFrame(
        {"Open": [1.0, 2.0], "High": [2.0, 3.0], "Low": [0.5, 1.5], "Close": [1.5, 2.5],
         "Volume": [10, 20]}, index=idx,
    )  # fmt: skip
    df.to_parquet(tmp_path / "qqq.parquet")
    out = load_frames(str(tmp_path / "qqq.parquet"))["QQQ"]
    assert out.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert out["volume"].dtype == np.float64 and out["close"].tolist() == [1.5, 2.5]
    long = pd.DataFrame(
        {"timestamp": [1_704_205_800_000] * 2, "symbol": ["A", "B"], "open": 1.0, "high": 2.0,
         "low": 0.5, "close": 1.5, "volume": 1.0},
    )  # fmt: skip
    long.to_parquet(tmp_path / "long.parquet")
    assert sorted(load_frames(str(tmp_path / "long.parquet"))) == ["A", "B"]


def test_unparseable_timestamp_names_row(tmp_path: Path) -> None:
    days = pd.bdate_range("2024-01-02", periods=20)
    rows = [(d.strftime("%Y-%m-%d"), 1, 2, 0.5, 1.5, 10) for d in days]
    rows[15] = ("2024-13-45", 1, 2, 0.5, 1.5, 10)  # data row 16 = file line 17
    path = _write(tmp_path / "bad.csv", _csv(rows, header="date,open,high,low,close,volume"))
    with pytest.raises(DataError, match="unparseable timestamp") as info:
        load_frames(str(path))
    assert (info.value.row, info.value.field, info.value.path) == (17, "date", str(path))
    assert "line 17" in str(info.value)


def test_missing_close_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "date,open,high,low,volume\n2024-01-02,1,2,0.5,10\n")
    with pytest.raises(DataError, match="missing required column 'close'") as info:
        read_file(path)
    assert info.value.field == "close"


def test_bad_number_names_row_and_field(tmp_path: Path) -> None:
    rows = [*ROWS[:2], ("2024-01-04", 11.5, 11.8, 11.0, 11.2, "lots")]
    path = _write(tmp_path / "x.csv", _csv(rows, header="date,open,high,low,close,volume"))
    with pytest.raises(DataError, match="not a number: 'lots'") as info:
        read_file(path)
    assert (info.value.row, info.value.field) == (4, "volume")


def test_missing_timestamp_and_empty_file(tmp_path: Path) -> None:
    rows = [*ROWS[:2], ("", 11.5, 11.8, 11.0, 11.2, 5)]
    path = _write(tmp_path / "x.csv", _csv(rows, header="date,open,high,low,close,volume"))
    with pytest.raises(DataError, match="missing timestamp") as info:
        read_file(path)
    assert info.value.row == 4
    with pytest.raises(DataError, match="empty"):
        read_file(_write(tmp_path / "e.csv", ""))


def test_no_header_unknown_layout(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "2024-01-02,1,2,0.5\n2024-01-03,1,2,0.5\n")
    with pytest.raises(DataError, match="cannot tell which column"):
        read_file(path)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    text = "date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,1\n\n2024-01-03,1,2,0.5,1.5,1\n"
    (bars,) = read_file(_write(tmp_path / "x.csv", text))
    assert list(bars.lines) == [2, 4]


def test_real_files_through_generic_reader(data_root: Path) -> None:
    (btc,) = read_file(data_root / "crypto_binance_1h" / "Binance_BTCUSDT_1h.csv.gz")
    assert btc.symbol == "BTCUSDT" and btc.descending and len(btc) == 27_100
    assert btc.frame.index[0] == pd.Timestamp("2020-09-19 07:00", tz="UTC")
    (cb,) = read_file(data_root / "crypto_coinbase_btcusd_1h" / "Coinbase_BTCUSD_1h.csv.gz")
    assert cb.frame.index[-1] == pd.Timestamp("2017-07-01 11:00", tz="UTC")
    parts = read_file(data_root / "zipline_samples_with_actions" / "QUANDL_SAMPLE_TABLE.csv.gz")
    assert [p.symbol for p in parts] == ["AAPL", "BRK_A", "MSFT", "ZEN"]


def _daily_rows(n: int) -> list[str]:
    days = pd.bdate_range("2024-01-02", periods=n)
    return [f"{d.date()},10,11,9,10.5,1000" for d in days]


@pytest.mark.parametrize(
    ("cells", "msg"), [(",000", "more fields than the 6 columns"), (",000,5", "8 fields")]
)
def test_row_with_more_fields_than_the_header_names_its_line(
    tmp_path: Path, cells: str, msg: str
) -> None:
    rows = _daily_rows(80)
    rows[75] = rows[75].replace(",1000", ",1") + cells  # "1,000": a thousands separator
    path = _write(tmp_path / "t.csv", "\n".join(["date,open,high,low,close,volume", *rows]))
    with pytest.raises(DataError, match=msg) as info:
        read_file(path)
    assert (info.value.path, info.value.row) == (str(path), 77)


@pytest.mark.parametrize("epoch", [False, True])
def test_time_of_day_in_a_daily_file_names_its_line(tmp_path: Path, epoch: bool) -> None:
    rows = _daily_rows(80)  # sniffed as daily from the first 64 lines
    rows[75] = rows[75].replace(rows[75][:10], f"{rows[75][:10]} 15:30:00")
    if epoch:
        cells = [r.split(",", 1) for r in rows]
        rows = [f"{pd.Timestamp(d, tz='UTC').value // 10**9},{rest}" for d, rest in cells]
    path = _write(tmp_path / "t.csv", "\n".join(["date,open,high,low,close,volume", *rows]))
    with pytest.raises(DataError, match="has a time of day, but the data is daily") as info:
        read_file(path)
    assert (info.value.path, info.value.row, info.value.field) == (str(path), 77, "date")


def test_daily_stamps_keep_their_own_local_date(tmp_path: Path) -> None:
    offsets = ["+11:00", "+11:00", "+10:00", "+10:00"]  # Sydney leaves DST on 2024-04-07
    days = ["2024-04-05", "2024-04-06", "2024-04-07", "2024-04-08"]
    rows = [f"{d}T00:00:00{o},10,11,9,10.5,1000" for d, o in zip(days, offsets, strict=True)]
    path = _write(tmp_path / "t.csv", "\n".join(["datetime,open,high,low,close,volume", *rows]))
    frame = read_file(path)[0].frame
    assert [str(t) for t in frame.index] == [f"{d} 00:00:00+00:00" for d in days]
