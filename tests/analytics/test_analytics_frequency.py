"""periods_per_year on synthetic and real daily, hourly 24/7 and 1-minute session data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.analytics.frequency import periods_per_year

RTH_MINUTE = 390.0 * 252.0


def _session_minutes(days: pd.DatetimeIndex, tz: str = "America/New_York") -> pd.DatetimeIndex:
    """Every regular-session minute 09:30..15:59 New York time of ``days``, in UTC."""
    offsets = pd.to_timedelta(np.arange(390), unit="min") + pd.Timedelta(hours=9, minutes=30)
    local = (days.tz_localize(tz).repeat(390) + np.tile(offsets, len(days))).tz_convert("UTC")
    return pd.DatetimeIndex(local)


def test_daily_business_days() -> None:
    index = pd.bdate_range("2019-01-01", "2021-12-31")
    assert periods_per_year(index) == 252.0


def test_daily_every_day_is_365() -> None:
    assert periods_per_year(pd.date_range("2020-01-01", periods=800, freq="D")) == 365.0


def test_hourly_24_7() -> None:
    index = pd.date_range("2021-01-01", periods=24 * 200, freq="h", tz="UTC")
    assert periods_per_year(index) == 24.0 * 365.0


def test_one_minute_regular_session_across_dst() -> None:
    minutes = _session_minutes(pd.bdate_range("2024-02-26", "2024-03-29"))  # DST on 03-10
    assert periods_per_year(minutes) == RTH_MINUTE
    assert periods_per_year(minutes.tz_convert("America/New_York")) == RTH_MINUTE
    assert periods_per_year(minutes.tz_localize(None)) == RTH_MINUTE


def test_sparse_one_minute_session() -> None:
    minutes = _session_minutes(pd.bdate_range("2024-01-01", "2024-06-28"))
    keep = np.random.default_rng(7).random(len(minutes)) < 0.3
    assert periods_per_year(minutes[keep]) == pytest.approx(RTH_MINUTE, rel=0.03)


def test_five_minute_and_hourly_session() -> None:
    minutes = _session_minutes(pd.bdate_range("2024-01-01", "2024-03-29"))
    assert periods_per_year(minutes[::5]) == 78.0 * 252.0
    assert periods_per_year(minutes[::60]) == 7.0 * 252.0


@pytest.mark.parametrize(
    ("freq", "expected"),
    [("W-FRI", 52.0), ("ME", 12.0), ("BME", 12.0), ("QE", 4.0), ("YE", 1.0)],
)
def test_coarse_bars(freq: str, expected: float) -> None:
    assert periods_per_year(pd.date_range("2000-01-01", "2010-12-31", freq=freq)) == expected


def test_order_and_duplicates_do_not_matter() -> None:
    index = pd.bdate_range("2020-01-01", periods=300)
    shuffled = index[np.random.default_rng(1).permutation(len(index))]
    assert periods_per_year(pd.DatetimeIndex(shuffled.append(index[:10]))) == 252.0


def test_too_few_timestamps() -> None:
    with pytest.raises(ValueError):
        periods_per_year(pd.DatetimeIndex(["2020-01-01", "2020-01-01"]))


def test_real_daily_equities(aapl_close: pd.Series) -> None:
    assert periods_per_year(pd.DatetimeIndex(aapl_close.index)) == 252.0


def test_real_hourly_crypto(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "crypto_binance_1h" / "Binance_BTCUSDT_1h.csv.gz", skiprows=1)
    index = pd.DatetimeIndex(pd.to_datetime(frame["Unix Timestamp"], unit="s", utc=True))
    assert periods_per_year(index) == 24.0 * 365.0


def _spy_minutes(data_dir: Path) -> pd.DatetimeIndex:
    path = data_dir / "spy_1min_2011_ninjatrader" / "nt-spy-minute-2011.csv.gz"
    frame = pd.read_csv(path, sep=";", header=None)
    return pd.DatetimeIndex(pd.to_datetime(frame[0], format="%Y%m%d %H%M%S", utc=True))


def test_real_one_minute_regular_session(data_dir: Path) -> None:
    index = _spy_minutes(data_dir)
    local = index.tz_convert("America/New_York")
    minute = local.hour * 60 + local.minute
    rth = index[(minute >= 9 * 60 + 31) & (minute <= 16 * 60)]  # stamped at the minute's end
    assert periods_per_year(rth) == RTH_MINUTE


def test_real_extended_hours_session_crosses_utc_midnight(data_dir: Path) -> None:
    # 04:00-20:00 New York is 09:00-01:00 UTC: one day, not two, still 252 days a year
    bars_per_day = periods_per_year(_spy_minutes(data_dir)) / 252.0
    assert 390.0 < bars_per_day <= 960.0


def test_real_sparse_one_minute(data_dir: Path) -> None:
    frame = pd.read_csv(data_dir / "intraday_1min_2024" / "TPL_1min_2024.csv.gz", sep=";")
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], unit="ms", utc=True))
    assert periods_per_year(index) == pytest.approx(RTH_MINUTE, rel=0.1)


def test_sparse_minutes_annualise_like_their_daily_equity(data_dir: Path) -> None:
    """TPL's sparse 1-minute closes: annualised volatility from the bars present is
    within 15% of the daily-resampled series'; the nominal 390 x 252 bars per year
    inflated it about 1.5x."""
    from alphapulse.analytics.frequency import observed_periods_per_year
    from alphapulse.analytics.metrics import compute_metrics

    frame = pd.read_csv(data_dir / "intraday_1min_2024" / "TPL_1min_2024.csv.gz", sep=";")
    index = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], unit="ms", utc=True))
    close = pd.Series(frame["close"].to_numpy(dtype=float), index=index)
    no_trades = pd.DataFrame({"pnl": pd.Series(dtype=float)})
    daily = close.resample("1D").last().dropna()
    vol_daily = compute_metrics(daily, no_trades)["volatility"]
    vol_min = compute_metrics(close, no_trades)["volatility"]
    nominal = compute_metrics(close, no_trades, periods_per_year=periods_per_year(index))
    ppy = observed_periods_per_year(index)
    assert ppy == pytest.approx(len(index), rel=1e-9)  # 252 days, each with bars
    assert ppy < 0.3 * periods_per_year(index)
    assert vol_min == pytest.approx(vol_daily, rel=0.15)
    assert nominal["volatility"] > 1.4 * vol_daily
    assert observed_periods_per_year(daily.index) == periods_per_year(daily.index) == 252.0
