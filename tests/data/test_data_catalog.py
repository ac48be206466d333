"""Catalog: data root, dataset specs and loading every shipped dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.core.errors import ConfigError, DataError
from alphapulse.data import catalog
from alphapulse.data.catalog import dataset_symbols, list_datasets, load_frames, load_panel
from alphapulse.data.spec import SymbolSpec, load_specs

ALL = [
    "crypto_binance_1h",
    "crypto_coinbase_btcusd_1h",
    "daily_adjusted_with_actions_1999_2020",
    "intraday_1min_2024",
    "news_headlines_2021_2022",
    "sp500_daily_2013_2018",
    "spy_1min_2011_ninjatrader",
    "us_daily_long_1962_2017",
    "zipline_quandl_sample",
    "zipline_samples_with_actions",
]
NY = "America/New_York"


def _check_frame(df: pd.DataFrame) -> None:
    idx = df.index
    assert isinstance(idx, pd.DatetimeIndex)
    assert str(idx.tz) == "UTC" and idx.name == "timestamp"
    assert idx.is_monotonic_increasing and idx.is_unique
    assert list(df.columns[:5]) == ["open", "high", "low", "close", "volume"]
    assert all(dt == np.float64 for dt in df.dtypes)


def test_data_root_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALPHAPULSE_DATA", str(tmp_path))
    assert catalog.data_root() == tmp_path
    monkeypatch.setenv("ALPHAPULSE_DATA", str(tmp_path / "nope"))
    with pytest.raises(DataError, match="ALPHAPULSE_DATA"):
        catalog.data_root()


def test_data_root_next_to_cwd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "repo").mkdir()
    monkeypatch.delenv("ALPHAPULSE_DATA", raising=False)
    monkeypatch.chdir(tmp_path / "repo")
    assert catalog.data_root() == (tmp_path / "shared" / "data").resolve()


def test_spec_symbol_rule_is_exclusive() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SymbolSpec(pattern="(?P<symbol>.+)", column="ticker")
    with pytest.raises(ValueError, match="named group"):
        SymbolSpec(pattern=".+")


def test_data_root_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ALPHAPULSE_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(catalog, "_REPO_ROOT", tmp_path / "repo")
    with pytest.raises(DataError, match="no data root"):
        catalog.data_root()


def test_list_datasets() -> None:
    assert list_datasets() == ALL


def test_spec_rejects_unknown_keys(tmp_path: Path) -> None:
    text = (Path(catalog.__file__).parent / "specs" / "sp500_daily_2013_2018.yaml").read_text()
    (tmp_path / "bad.yaml").write_text(text + "\nsurprise: 1\n")
    with pytest.raises(ConfigError, match="surprise"):
        load_specs(tmp_path)


def test_spec_rejects_an_unknown_time_zone(tmp_path: Path) -> None:
    text = (Path(catalog.__file__).parent / "specs" / "sp500_daily_2013_2018.yaml").read_text()
    assert "timezone: UTC" in text
    (tmp_path / "bad.yaml").write_text(text.replace("timezone: UTC", "timezone: America/Nowhere"))
    with pytest.raises(ConfigError, match="unknown time zone 'America/Nowhere'"):
        load_specs(tmp_path)


def test_symbols(data_root: Path) -> None:
    sp = dataset_symbols("sp500_daily_2013_2018", data_root)
    assert len(sp) == 495 and {"AAPL", "BRK.B", "BF.B"} <= set(sp)
    assert "SPY" in dataset_symbols("us_daily_long_1962_2017", data_root)
    assert dataset_symbols("zipline_quandl_sample") == ["AAPL", "BRK.A", "MSFT", "ZEN"]
    assert dataset_symbols("crypto_binance_1h") == ["BTCUSDT", "ETHUSDT"]
    assert dataset_symbols("spy_1min_2011_ninjatrader") == ["SPY"]


@pytest.mark.parametrize("name", [n for n in ALL if n != "crypto_binance_1h"])
def test_every_dataset_loads(data_root: Path, name: str) -> None:
    syms = dataset_symbols(name, data_root)[:2]
    frames = load_frames(name, syms, root=data_root)
    assert list(frames) == syms
    for df in frames.values():
        _check_frame(df)
        assert df.attrs["dataset"] == name


def test_sp500_subset_fast_and_correct(data_root: Path) -> None:
    syms = dataset_symbols("sp500_daily_2013_2018", data_root)[::25]
    assert len(syms) == 20
    frames = load_frames("sp500_daily_2013_2018", [*syms, "aapl"], root=data_root)
    aapl = frames["AAPL"]
    assert aapl.loc["2013-02-08", "close"] == pytest.approx(67.8542)
    assert (aapl.index == aapl.index.normalize()).all()  # dates at 00:00 UTC
    assert len(aapl) == 1259
    dhr = load_frames("sp500_daily_2013_2018", ["DHR"], root=data_root)["DHR"]
    assert np.isnan(dhr.loc["2016-01-12", "open"])  # empty cell kept as NaN, not filled


def test_sp500_all(data_root: Path) -> None:
    panel = load_panel("sp500_daily_2013_2018", root=data_root)
    assert panel.n_symbols == 495 and panel.n_bars == 1259
    assert int(panel.has_bar.sum()) == 606_450
    assert "BRK.B" in panel.symbols


def test_newest_first_sorted(data_root: Path) -> None:
    aapl = load_frames("daily_adjusted_with_actions_1999_2020", ["AAPL"], root=data_root)["AAPL"]
    assert aapl.index[0] == pd.Timestamp("1999-11-01", tz="UTC")
    assert len(aapl) == 5303
    assert list(aapl.columns) == [
        "open", "high", "low", "close", "volume", "adj_close", "dividend", "split",
    ]  # fmt: skip
    assert aapl.loc["2020-08-31", "split"] == 4.0
    assert aapl.attrs["splits_applied"] is False


def test_coinbase_12h_text(data_root: Path) -> None:
    df = load_frames("crypto_coinbase_btcusd_1h", root=data_root)["BTCUSD"]
    assert len(df) == 20_111
    assert df.index[0] == pd.Timestamp("2017-07-01 11:00", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2019-10-17 09:00", tz="UTC")
    assert df.loc["2017-12-07 16:00", "high"].item() == pytest.approx(19650.65)


def test_binance_duplicates_are_not_hidden(data_root: Path) -> None:
    with pytest.raises(DataError, match="duplicate timestamp") as info:
        load_frames("crypto_binance_1h", ["BTCUSDT"], root=data_root)
    assert info.value.rule == "duplicate_timestamp"
    assert info.value.row is not None and info.value.path is not None
    assert "Binance_BTCUSDT_1h" in info.value.path


def test_intraday_semicolon_epoch_ms(data_root: Path) -> None:
    df = load_frames("intraday_1min_2024", ["BKNG"], root=data_root)["BKNG"]
    assert len(df) == 38_525
    first = df.iloc[0]
    assert df.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")
    assert (first.open, first.close, first.vwap) == (3520.0, 3524.405, 3520.4257)


def test_ninjatrader_end_stamps_shifted(data_root: Path) -> None:
    df = load_frames("spy_1min_2011_ninjatrader", root=data_root)["SPY"]
    assert len(df) == 14_180 + 17_577  # both files, one symbol
    local = df.index.tz_convert(NY)
    regular = df[
        (local.time >= pd.Timestamp("09:30").time()) & (local.time < pd.Timestamp("16:00").time())
    ]
    per_day = regular.groupby(regular.index.tz_convert(NY).date).size()
    assert len(per_day) == 43 and (per_day == 390).all()
    assert df.index[0] == pd.Timestamp("2011-01-03 09:00", tz="UTC")  # file says 09:01 (end)


def test_zipline_flags(data_root: Path) -> None:
    aapl = load_frames("zipline_samples_with_actions", ["AAPL"], root=data_root)["AAPL"]
    assert aapl.attrs["splits_applied"] is True
    assert aapl.loc["2014-06-09", "split"] == 7.0
    q = load_frames("zipline_quandl_sample", ["BRK.A", "AAPL"], root=data_root)
    assert list(q) == ["BRK.A", "AAPL"]
    assert q["AAPL"].loc["2014-06-06", "close"] > 600  # unadjusted before the split


def test_lowercase_file_names(data_root: Path) -> None:
    spy = load_frames("us_daily_long_1962_2017", ["spy"], root=data_root)["SPY"]
    assert spy.loc["2005-02-25", "close"] == pytest.approx(105.79)


def test_start_end(data_root: Path) -> None:
    frames = load_frames(
        "sp500_daily_2013_2018", ["AAPL", "APTV"], start="2017-12-01", end="2017-12-05",
        root=data_root,
    )  # fmt: skip
    assert list(frames["AAPL"].index.strftime("%Y-%m-%d")) == [
        "2017-12-01", "2017-12-04", "2017-12-05",
    ]  # fmt: skip
    assert list(frames["APTV"].index.strftime("%Y-%m-%d")) == ["2017-12-05"]
    empty = load_frames("sp500_daily_2013_2018", ["APTV"], end="2017-01-01", root=data_root)
    assert empty == {}


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2019-01-01", None, "no bars from 2019-01-01 on$"),
        (None, "2013-01-01", "no bars up to 2013-01-01$"),
        ("2015-01-01", "2014-01-01", "no bars between 2015-01-01 and 2014-01-01$"),
    ],
)
def test_an_empty_window_is_named_as_asked(
    data_root: Path, start: str | None, end: str | None, says: str
) -> None:
    with pytest.raises(DataError, match=says):
        load_panel("sp500_daily_2013_2018", ["AAPL"], start=start, end=end, root=data_root)


@pytest.mark.parametrize(
    ("symbols", "says"),
    [
        (["AAPL", "aapl"], "'AAPL' and 'aapl' name the same symbol AAPL"),
        (["MSFT", "AAPL", "AAPL"], "'AAPL' listed twice"),
    ],
)
def test_a_symbol_asked_twice_is_an_error(data_root: Path, symbols: list[str], says: str) -> None:
    """Two names of one symbol were merged silently (the catalog's names are upper case)."""
    with pytest.raises(DataError, match=says):
        load_frames("sp500_daily_2013_2018", symbols, root=data_root)


def test_unknown_symbol_and_source(data_root: Path) -> None:
    with pytest.raises(DataError, match="ZZZZ"):
        load_frames("sp500_daily_2013_2018", ["AAPL", "ZZZZ"], root=data_root)
    with pytest.raises(DataError, match="neither a dataset"):
        load_frames("no_such_dataset", root=data_root)


def test_panel_from_paths(data_root: Path) -> None:
    folder = data_root / "zipline_samples_with_actions"
    with pytest.raises(DataError, match="several datasets"):
        load_panel(str(folder))
    p = load_panel(str(data_root / "sp500_daily_2013_2018"), ["AAPL", "MSFT"], start="2018-01-01")
    assert p.symbols == ("AAPL", "MSFT") and p.n_bars == 26
    one = load_panel(str(folder / "csvdir_daily_KO.csv.gz"))
    assert one.symbols == ("KO",) and "split" in one.fields
    rel = load_frames("intraday_1min_2024/TPL_1min_2024.csv.gz", root=data_root)
    assert list(rel) == ["TPL"]
