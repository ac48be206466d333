"""The folder reader: known_at at the session close, one-line errors for bad rows."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.news.sources import FolderNewsSource


def write(folder, text: str, name: str = "TSLA_headlines.csv") -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_dated_headlines_are_known_at_the_session_close(tmp_path) -> None:
    write(
        tmp_path,
        "date,symbol,headline\n"
        "2021-11-26,TSLA,Tesla  deliveries up\n"  # early close 13:00 New York
        "2021-04-02,TSLA,Markets closed for Good Friday\n"  # holiday: 16:00 New York
        "2021-07-06,TSLA,Tesla falls\n",
    )
    table = FolderNewsSource(tmp_path).fetch(["tsla"])
    got = table.set_index("headline")["known_at"].dt.strftime("%Y-%m-%d %H:%M").to_dict()
    assert got == {
        "Markets closed for Good Friday": "2021-04-02 20:00",
        "Tesla falls": "2021-07-06 20:00",
        "Tesla deliveries up": "2021-11-26 18:00",
    }
    assert table["published_at"].isna().all() and table["known_at"].is_monotonic_increasing
    assert str(table["known_at"].dt.tz) == "UTC" and set(table["symbol"]) == {"TSLA"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,headline\n2021-01-05,ok\n2021-13-01,bad month\n", "line 3, field 'date'"),
        ("date,headline\n2021-01-05,ok\n\n\n2021-01-0x,after blanks\n", "line 5, field 'date'"),
        ("date,headline\n2021-01-05,  \n", "line 2, field 'headline': empty headline"),
        ("date,symbol,headline\n2021-01-05,MSFT,x\n", "field 'symbol': symbol is not TSLA"),
        ("day,headline\n2021-01-05,x\n", "field 'date': missing column"),
        # a quoted line break: the bad record starts on line 4 (before: line 3)
        (
            'date,headline\n2021-01-05,"first line\nsecond line"\n2021-13-01,x\n',
            "line 4, field 'date'",
        ),
        ('date,headline\n2021-01-05,"a\r\n\r\nb"\n\n2021-01-0x,x\n', "line 6, field 'date'"),
        ('date,headline\n2021-01-05,"a\nb"\n2021-01-05,a,b\n', "line 4: expected 2 fields, saw 3"),
        ('date,headline\n2021-01-05,"a\nb"\n2021-01-05,"open\n', "line 4: unclosed quote"),
        # pandas would read the second as headline.1 (before: no error)
        ("date,headline,headline\n2021-01-05,a,b\n", "line 1, field 'headline': duplicate column"),
        ("date,symbol,headline,date\n2021-01-05,TSLA,a,b\n", "field 'date': duplicate column"),
        # a near-miss is named, not stripped (before: "missing column" alone, or source dropped)
        (
            "date, headline\n2021-01-05,x\n",
            r"line 1, field 'headline': missing column \(the header has ' headline': write it as",
        ),
        ("date,headline,Source\n2021-01-05,x,y\n", "field 'source': .* has 'Source'"),
        ('date,"headline\n2021-01-05,x\n', "line 1: unclosed quote"),  # the header's own quote
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(DataError, match=message) as err:
        FolderNewsSource(tmp_path).fetch(["TSLA"])
    assert "TSLA_headlines.csv" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "TSLA_headlines.csv",
            b'date,headline\n2021-01-05,"a\nb"\n2021-01-06,caf\xe9\n',
            "line 4, field 'headline': not UTF-8 text",
        ),
        (  # before: EOFError, a traceback
            "TSLA_headlines.csv.gz",
            gzip.compress(b"date,headline\n" + b"2021-01-05,a\n" * 100, mtime=0)[:-20],
            "cannot read headlines: Compressed file ended",
        ),
        ("TSLA_headlines.csv", b"", "cannot read headlines"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, name: str, data: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=message) as err:
        FolderNewsSource(tmp_path).fetch(["TSLA"])
    assert name in str(err.value) and "\n" not in str(err.value)


def test_missing_symbol_and_folder(tmp_path) -> None:
    with pytest.raises(DataError, match="no headlines file for MSFT"):
        FolderNewsSource(tmp_path).fetch(["MSFT"])
    with pytest.raises(DataError, match="no such folder"):
        FolderNewsSource(tmp_path / "nope")


def test_real_folder_counts() -> None:
    # PROVENANCE.md gives 2021-01-05 as the first date; the files start on 2021-01-06
    table = FolderNewsSource("news_headlines_2021_2022").fetch(["MSFT", "TSLA"])
    assert table["symbol"].value_counts().to_dict() == {"TSLA": 12694, "MSFT": 7359}
    assert table["known_at"].min() == pd.Timestamp("2021-01-06 21:00", tz="UTC")


def test_fetch_bounds_may_carry_a_time_zone(tmp_path) -> None:
    write(tmp_path, "date,headline\n2021-07-05,a\n2021-07-06,b\n2021-07-08,c\n")
    src = FolderNewsSource(tmp_path)
    naive = src.fetch(["TSLA"], start=datetime(2021, 7, 6, 20), end=datetime(2021, 7, 6))
    ny = ZoneInfo("America/New_York")
    aware = src.fetch(
        ["TSLA"], start=datetime(2021, 7, 6, 16, tzinfo=ny), end=datetime(2021, 7, 6, tzinfo=UTC)
    )
    assert naive["headline"].tolist() == aware["headline"].tolist() == ["b"]
