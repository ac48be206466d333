"""Session-aligned resampling of one-minute bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import DataError
from alphapulse.data.catalog import load_frames
from alphapulse.data.resample import resample

NY = "America/New_York"


@pytest.fixture(scope="module")
def spy(data_root: Path) -> pd.DataFrame:
    return load_frames("spy_1min_2011_ninjatrader", root=data_root)["SPY"]


def _minutes(start: str, n: int) -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="1min", tz="UTC", name="timestamp")
    x = np.arange(1.0, n + 1)
    return pd.DataFrame(
        {"open": x, "high": x + 0.5, "low": x - 0.5, "close": x + 0.25, "volume": 1.0}, index=idx
    )


def test_ohlcv_aggregation_synthetic() -> None:
    df = _minutes("2024-01-02 14:30", 30)  # 09:30-09:59 New York
    r = resample(df, "15min")
    assert list(r.index.strftime("%H:%M")) == ["14:30", "14:45"]
    first = r.iloc[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        1,
        15.5,
        0.5,
        15.25,
        15,
    )


def test_bins_anchored_at_session_open_not_midnight() -> None:
    df = _minutes("2024-01-02 14:00", 120)  # 09:00-10:59 New York, 30 pre-market minutes
    regular = resample(df, "1h")
    assert list(regular.index.strftime("%H:%M")) == ["14:30", "15:30"]
    assert regular["volume"].tolist() == [60, 30]
    every = resample(df, "1h", session="all")
    assert list(every.index.strftime("%H:%M")) == ["13:30", "14:30", "15:30"]
    utc = resample(df, "1h", calendar=None)
    assert list(utc.index.strftime("%H:%M")) == ["14:00", "15:00"]


def test_dst_and_early_close() -> None:
    summer = resample(_minutes("2024-07-01 13:30", 10), "5min")
    assert summer.index[0] == pd.Timestamp("2024-07-01 13:30", tz="UTC")
    half_day = _minutes("2024-11-29 17:30", 60)  # 12:30-13:29 New York; early close 13:00
    r = resample(half_day, "1h")
    assert len(r) == 1 and r["volume"].iloc[0] == 30


def test_errors() -> None:
    df = _minutes("2024-01-02 14:30", 5)
    with pytest.raises(DataError, match="timezone"):
        resample(df.tz_localize(None), "5min")
    with pytest.raises(DataError, match="1D"):
        resample(df, "2D")


def test_ninjatrader_daily_from_minutes(spy: pd.DataFrame) -> None:
    local = spy.index.tz_convert(NY)
    minutes = local.hour * 60 + local.minute
    regular = spy[(minutes >= 570) & (minutes < 960)]
    per_day = regular.groupby(regular.index.tz_convert(NY).date)
    assert (per_day.size() == 390).all()
    first_times = per_day.apply(lambda d: d.index[0].tz_convert(NY).strftime("%H:%M"))
    assert set(first_times) == {"09:30"}
    daily = resample(spy, "1D")
    assert len(daily) == 43
    assert daily.index[0] == pd.Timestamp("2011-01-03", tz="UTC")
    day = regular[regular.index.tz_convert(NY).date == pd.Timestamp("2011-01-03").date()]
    row = daily.iloc[0]
    assert row.open == day["open"].iloc[0] and row.close == day["close"].iloc[-1]
    assert row.high == day["high"].max() and row.low == day["low"].min()
    assert row.volume == day["volume"].sum()
    assert daily.loc["2011-03-14", "open"] == regular.loc["2011-03-14 13:30", "open"]  # after DST
    assert resample(spy, "5min").groupby(lambda t: t.date()).size().eq(78).all()
    assert resample(spy, "15min").groupby(lambda t: t.date()).size().eq(26).all()
    assert resample(spy, "1h").groupby(lambda t: t.date()).size().eq(7).all()


def test_intraday_2024(data_root: Path) -> None:
    frames = load_frames("intraday_1min_2024", ["BKNG", "TPL"], root=data_root)
    bkng = frames["BKNG"]
    daily = resample(bkng, "1D")
    assert len(daily) == 252
    assert set(daily.index.strftime("%H:%M")) == {"00:00"}
    hourly = resample(bkng, "1h")
    local = hourly.index.tz_convert(NY)
    assert set(local.minute) == {30} and local.hour.min() == 9 and local.hour.max() == 15
    assert hourly["volume"].sum() <= bkng["volume"].sum()  # pre/after-market minutes dropped
    everything = resample(bkng, "1D", session="all")
    assert everything["volume"].sum() == bkng["volume"].sum()
    assert 0 < hourly["vwap"].iloc[0] < 10_000
    assert len(resample(frames["TPL"], "5min")) < 252 * 78  # sparse input, no invented bars


def test_missing_price_is_an_error_not_a_neighbour() -> None:
    df = _minutes("2024-01-02 14:30", 5)
    df.loc[df.index[4], "close"] = np.nan  # "last" would take the close of 14:33
    with pytest.raises(DataError, match="missing close at 2024-01-02 14:34:00"):
        resample(df, "5min")


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ("2024-01-04,10,11,-9,10.5,100", "non_positive_price"),
        ("2023-12-29,10,11,9,10.5,1", "out_of_order"),
    ],
)
def test_cli_resample_validates_like_import(tmp_path: Path, row: str, rule: str) -> None:
    from typer.testing import CliRunner

    from alphapulse.cli_data import data_app

    path = tmp_path / "t.csv"
    path.write_text("date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n"
                    f"2024-01-03,10,11,9,10.5,100\n{row}\n")  # fmt: skip
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(data_app, ["resample", str(path), "--to", "1D", "--out", str(out)])
    assert isinstance(res.exception, DataError) and rule in str(res.exception)
    assert (res.exception.path, res.exception.row) == (str(path), 4)
    assert not out.exists()


DAILY = "date,open,high,low,close,volume\n" + "".join(
    f"2024-01-0{d},10,11,9,10.5,100\n" for d in (2, 3, 4)
)


def _cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], csv: str, *args: str) -> str:
    """``alphapulse data resample`` of ``csv``; its exit code must be 2; returns stderr+out."""
    from alphapulse.cli import main

    path = tmp_path / "in.csv"
    path.write_text(csv)
    with pytest.raises(SystemExit) as exit_:
        main(["data", "resample", str(path), *args])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    return captured.err + captured.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "1M"], "resample rule '1M' is not a bar size"),
        (["--to", "abc"], "resample rule 'abc' is not a bar size"),
        (["--to", "1D", "--calendar", "BOGUS"], "unknown exchange calendar 'BOGUS'"),
        (["--to", "1D", "--session", "all", "--out", "missing/x.csv"], "cannot write"),
        (["--to", "1D"], "daily bars have no time of day"),  # regular session: every bar dropped
        (["--to", "5min", "--session", "all"], "daily bars cannot be resampled to shorter 5min"),
        (["--to", "1D", "--session", "weird"], "'weird' is not one of 'regular', 'all'"),
    ],
)
def test_cli_resample_refuses_bad_options_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    if "--out" in args:
        args[args.index("--out") + 1] = str(tmp_path / "missing" / "x.csv")
    text = _cli(tmp_path, capsys, DAILY, *args)
    assert message in " ".join(text.split()) and "Traceback" not in text


def test_cli_resample_refuses_input_that_leaves_no_bars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weekend = "timestamp,open,high,low,close,volume\n" + "".join(
        f"2024-01-06T15:0{m}:00Z,10,11,9,10.5,100\n" for m in (0, 1)
    )
    text = _cli(tmp_path, capsys, weekend, "--to", "5min", "--session", "all")
    assert "none of the 2 bars" in text and "XNYS session: nothing to resample" in text


def test_cli_resample_daily_keeps_session_dates_and_stores_under_timeframe(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from alphapulse.cli_data import data_app
    from alphapulse.store import open_store

    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    path.write_text(DAILY)
    db = f"sqlite:///{tmp_path / 'r.sqlite'}"
    args = ["resample", str(path), "--to", "1D", "--session", "all", "--out", str(out)]
    res = CliRunner().invoke(data_app, [*args, "--store", "--timeframe", "1d", "--db", db])
    assert res.exit_code == 0, res.output
    days = ["2024-01-02", "2024-01-03", "2024-01-04"]
    stamps = pd.to_datetime(pd.read_csv(out)["timestamp"])
    assert stamps.tolist() == [pd.Timestamp(d, tz="UTC") for d in days]
    with open_store(db) as store:
        assert store.read_bars("IN", "1d").index.tolist() == stamps.tolist()


def _hours(start: str, n: int) -> pd.DataFrame:
    """Hourly bars (``attrs['bar']`` 1h) from ``start``, close = 1, 2, ..."""
    df = _minutes(start, n)
    df.index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="timestamp")
    df.attrs["bar"] = "1h"
    return df


@pytest.mark.parametrize(
    ("frame", "rule", "late"),
    [
        # hourly bars on the hour (10:00-11:00 New York) against bins from the 09:30 open
        (_hours("2024-01-02 15:00", 3), "1h", "2024-01-02 15:00:00"),
        (_hours("2024-01-02 15:00", 3), "2h", "2024-01-02 16:00:00"),
        # 30-minute bars cut into 45-minute bins: the 10:00 bar runs to 10:30, past 10:15
        (
            _minutes("2024-01-02 14:30", 3).set_axis(
                pd.date_range("2024-01-02 14:30", periods=3, freq="30min", tz="UTC")
            ),
            "45min",
            "2024-01-02 15:00:00",
        ),
        # "upsampling": one-hour bars relabelled as 5-minute bars
        (_hours("2024-01-02 14:30", 2), "5min", "2024-01-02 14:30:00"),
    ],
)
def test_bars_that_run_past_their_bin_are_refused(
    frame: pd.DataFrame, rule: str, late: str
) -> None:
    # a resampled bar must not hold data from after its end (look-ahead)
    with pytest.raises(DataError, match=f"bar at {late}.*runs past the end of its {rule} bar"):
        resample(frame, rule)


def test_bars_on_the_bin_grid_resample() -> None:
    on_open = resample(_hours("2024-01-02 14:30", 6), "2h")  # 09:30 .. 15:30 New York
    assert on_open["close"].tolist() == [2.25, 4.25, 6.25]
    on_the_hour = resample(_hours("2024-01-02 14:00", 4), "2h", calendar=None)
    assert list(on_the_hour.index.strftime("%H:%M")) == ["14:00", "16:00"]


def test_zero_split_cells_mean_no_split_and_do_not_cancel_a_split() -> None:
    # yfinance writes 0.0 in "Stock Splits" on bars without a split; the 10:1 split on the
    # first bar of the day must survive into its 15-minute bar (0 x 10 would drop it)
    df = _minutes("2024-06-10 13:30", 30)
    df["split"] = 0.0
    df.loc[df.index[0], "split"] = 10.0
    r = resample(df, "15min")
    assert r["split"].tolist() == [10.0, 1.0]
