"""Spec'd datasets find their header row and separator (``data/sources/sniff.py``): other
CryptoDataDownload export shapes of crypto_binance_1h read to the same bars, and a file
without the spec's columns fails with one line naming the file and quoting its start."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.catalog import load_frames, read_source

BANNER = "Timestamps are UTC timezone,https://www.CryptoDataDownload.com"
HEADER = "Unix Timestamp,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USDT"
ROWS = [  # newest first, as in the real files
    "1600498800.0,2020-09-19 07-AM,BTCUSDT,10944.82,10949.99,10939.46,10940,87.6,958970.4",
    "1600495200.0,2020-09-19 06-AM,BTCUSDT,10933.44,10953.28,10930,10944.82,1092.55,11953649.21",
    "1600491600.0,2020-09-19 05-AM,BTCUSDT,10920.5,10940,10915.1,10933.44,980.1,10712345.5",
]
SHAPES = {  # name -> (lines before the header, header, separator)
    "as in the spec": ([BANNER], HEADER, ","),
    "no banner": ([], HEADER, ","),
    "two banner lines": ([BANNER, "Data,https://www.CryptoDataDownload.com"], HEADER, ","),
    "semicolons": ([BANNER.replace(",", ";")], HEADER, ";"),
    "lower-case header": ([BANNER], HEADER.lower(), ","),
    "quoted, tabs": ([], '"' + HEADER.replace(",", '","') + '"', "\t"),
}


def _write(root: Path, banner: list[str], header: str, sep: str, rows: list[str]) -> Path:
    folder = root / "crypto_binance_1h"
    folder.mkdir(parents=True)
    path = folder / "Binance_BTCUSDT_1h.csv.gz"
    body = [r.replace(",", sep) for r in [header, *rows]]
    with gzip.open(path, "wt", newline="") as fh:
        fh.write("\r\n".join([*banner, *body]) + "\r\n")
    return path


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_export_shapes_read_to_the_same_bars(tmp_path: Path, shape: str) -> None:
    banner, header, sep = SHAPES[shape]
    _write(tmp_path / "a", [BANNER], HEADER, ",", ROWS)
    _write(tmp_path / "b", banner, header, sep, ROWS)
    want = load_frames("crypto_binance_1h", root=tmp_path / "a")["BTCUSDT"]
    got = load_frames("crypto_binance_1h", root=tmp_path / "b")["BTCUSDT"]
    pd.testing.assert_frame_equal(got, want)
    assert len(got) == 3 and got["close"].iloc[-1] == 10940.0
    assert got.index[-1] == pd.Timestamp("2020-09-19 07:00", tz="UTC")
    part = read_source("crypto_binance_1h", root=tmp_path / "b")["BTCUSDT"][0]
    first = len(banner) + 2  # 1-based line of the first data row
    assert part.lines.tolist() == [first, first + 1, first + 2]


def test_rows_keep_their_file_lines_in_errors(tmp_path: Path) -> None:
    bad = [*ROWS[:2], ROWS[2].replace("10915.1", "-1")]
    path = _write(tmp_path, [], HEADER, ";", bad)
    with pytest.raises(DataError, match=r"line 4") as exc:
        load_frames("crypto_binance_1h", root=tmp_path, policy="reject")
    assert str(path) in str(exc.value)


def test_missing_columns_name_the_file_and_its_first_lines(tmp_path: Path) -> None:
    header = HEADER.replace("Open", "Opening")
    path = _write(tmp_path, [BANNER], header, ",", ROWS)
    with pytest.raises(DataError) as exc:
        load_frames("crypto_binance_1h", root=tmp_path)
    msg = str(exc.value)
    assert msg.startswith(f"file {path}: no header line with columns 'Unix Timestamp' and 'Open'")
    assert "the file begins: 'Timestamps are UTC timezone" in msg and "Opening" in msg
    assert "\n" not in msg
