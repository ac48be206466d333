"""Feature values against TA-Lib and straightforward pandas references, on each
symbol's series of valid bars (long real histories)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from alphapulse.data.panel import Panel
from alphapulse.features import FeatureSetConfig, compute_features
from alphapulse.features.compute import valid_bars

SYMS = ("AAPL", "DHR", "FTV", "XOM")


def _raw(panel: Panel, features: list[dict[str, object]], benchmark: str | None = None):
    cfg = FeatureSetConfig(name="ref", features=features, normalize={"method": "none"})
    return compute_features(panel, cfg, benchmark)


def _series(panel: Panel, sym: str):
    j = panel.symbols.index(sym)
    f = {k: panel.fields[k][:, j] for k in ("open", "high", "low", "close", "volume")}
    ok = valid_bars(f["open"], f["high"], f["low"], f["close"], f["volume"])
    return j, ok, {k: np.ascontiguousarray(v[ok]) for k, v in f.items()}


def _check(mine: np.ndarray, ref: np.ndarray, rtol: float = 1e-9, atol: float = 1e-12) -> None:
    assert np.array_equal(np.isnan(mine), np.isnan(ref)), "warm-up differs"
    assert np.isfinite(ref).sum() > 300
    np.testing.assert_allclose(mine, ref, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("sym", SYMS)
def test_indicators_match_talib(sp_panel: Panel, sym: str) -> None:
    fm = _raw(
        sp_panel,
        [
            {"kind": "rsi", "period": 14},
            {"kind": "macd", "fast": 12, "slow": 26, "signal": 9},
            {"kind": "atr", "period": 14},
            {"kind": "adx", "period": 14},
            {"kind": "bollinger", "period": 20, "nbdev": 2.0},
            {"kind": "obv", "window": 20},
        ],
    )
    j, ok, s = _series(sp_panel, sym)
    h, lo, c, v = s["high"], s["low"], s["close"], s["volume"]
    got = {n: fm.feature(n)[ok, j] for n in fm.names}
    _check(got["rsi_14"], talib.RSI(c, 14))
    _check(got["macd_hist_12_26_9"], talib.MACD(c, 12, 26, 9)[2] / c)
    _check(got["atr_14"], talib.ATR(h, lo, c, 14) / c)
    _check(got["adx_14"], talib.ADX(h, lo, c, 14))
    up, _, dn = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    _check(got["bb_pctb_20"], (c - dn) / (up - dn), rtol=1e-8, atol=1e-9)
    obv = talib.OBV(c, v)
    ref = np.full(len(c), np.nan)
    ref[20:] = (obv[20:] - obv[:-20]) / pd.Series(v).rolling(20).sum().to_numpy()[20:]
    _check(got["obv_20"], ref)


def test_talib_periods_other_than_default(sp_panel: Panel) -> None:
    fm = _raw(
        sp_panel,
        [
            {"kind": "rsi", "period": 5},
            {"kind": "macd", "fast": 5, "slow": 35, "signal": 5},
            {"kind": "adx", "period": 7},
        ],
    )
    j, ok, s = _series(sp_panel, "DHR")
    h, lo, c = s["high"], s["low"], s["close"]
    _check(fm.feature("rsi_5")[ok, j], talib.RSI(c, 5))
    _check(fm.feature("macd_hist_5_35_5")[ok, j], talib.MACD(c, 5, 35, 5)[2] / c)
    _check(fm.feature("adx_7")[ok, j], talib.ADX(h, lo, c, 7))


@pytest.mark.parametrize("sym", SYMS)
def test_window_features_match_pandas(sp_panel: Panel, sym: str) -> None:
    fm = _raw(
        sp_panel,
        [
            {"kind": "returns", "horizons": [1, 5, 21]},
            {"kind": "realized_vol", "window": 21},
            {"kind": "volume_z", "window": 21},
            {"kind": "amihud", "window": 21},
            {"kind": "roll_spread", "window": 21},
        ],
    )
    j, ok, s = _series(sp_panel, sym)
    c, v = pd.Series(s["close"]), pd.Series(s["volume"])
    lc = np.log(c)
    r = lc.diff()
    got = {n: fm.feature(n)[ok, j] for n in fm.names}
    for h in (1, 5, 21):
        _check(got[f"ret_{h}"], (lc - lc.shift(h)).to_numpy())
    _check(got["rv_21"], r.rolling(21).std().to_numpy())
    lv = np.log1p(v)
    _check(got["volz_21"], ((lv - lv.rolling(21).mean()) / lv.rolling(21).std()).to_numpy(), 1e-7)
    illiq = (r.abs() / (c * v)).where(v > 0)
    ami = np.log(illiq.rolling(21, min_periods=10).mean()).to_numpy().copy()
    ami[:21] = np.nan  # the window must be complete
    _check(got["amihud_21"], ami, 1e-9)
    cov = r.rolling(21).cov(r.shift(1)).to_numpy().copy()
    roll = np.where(cov < 0, 2 * np.sqrt(np.abs(cov)), 0.0)
    roll[np.isnan(cov)] = np.nan
    _check(got["roll_21"], roll, 1e-7, 1e-10)


def test_corwin_schultz_by_hand() -> None:
    """Two bars without overnight gap: S = 2 (e^a - 1) / (1 + e^a) of the CS formula."""
    hi = np.array([[10.5], [10.8], [10.6]])
    lo = np.array([[9.9], [10.1], [10.0]])
    c = np.array([[10.2], [10.4], [10.3]])
    p = Panel(
        np.arange(3, dtype=np.int64),
        ("X",),
        {"open": c, "high": hi, "low": lo, "close": c, "volume": np.ones((3, 1))},
    )
    fm = _raw(p, [{"kind": "cs_spread", "window": 1}])

    def cs(h0: float, l0: float, h1: float, l1: float) -> float:
        beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
        gamma = np.log(max(h0, h1) / min(l0, l1)) ** 2
        k = 3 - 2 * np.sqrt(2)
        a = (np.sqrt(2 * beta) - np.sqrt(beta)) / k - np.sqrt(gamma / k)
        return max(0.0, 2 * (np.exp(a) - 1) / (1 + np.exp(a)))

    want = [np.nan, cs(10.5, 9.9, 10.8, 10.1), cs(10.8, 10.1, 10.6, 10.0)]
    np.testing.assert_allclose(fm.feature("cs_1")[:, 0], want, rtol=1e-12)
    assert fm.feature("cs_1")[1, 0] > 0


def test_beta_and_corr_against_a_benchmark(sp_panel: Panel) -> None:
    """With a gap-free benchmark and symbol the index return of a bar is the
    benchmark's log return, so beta/corr are the plain rolling statistics."""
    sub = sp_panel.select(["AAPL", "XOM", "JPM"])
    fm = _raw(sub, [{"kind": "market", "window": 63}], benchmark="JPM")
    lr = np.log(pd.DataFrame(sub.fields["close"], columns=sub.symbols)).diff()
    cov = lr["XOM"].rolling(63).cov(lr["JPM"])
    beta = (cov / lr["JPM"].rolling(63).var()).to_numpy()
    corr = lr["XOM"].rolling(63).corr(lr["JPM"]).to_numpy()
    j = sub.symbols.index("XOM")
    _check(fm.feature("beta_63")[:, j], beta, 1e-8)
    _check(fm.feature("corr_63")[:, j], corr, 1e-8)
    np.testing.assert_allclose(
        fm.feature("beta_63")[100:, sub.symbols.index("JPM")], 1.0, rtol=1e-9
    )


def test_cross_sectional_index_when_no_benchmark(sp_panel: Panel) -> None:
    sub = sp_panel.select(["AAPL", "XOM", "JPM"])
    fm = _raw(sub, [{"kind": "market", "window": 63}])
    lr = np.log(pd.DataFrame(sub.fields["close"])).diff()
    idx = lr.mean(axis=1)
    corr = lr[0].rolling(63).corr(idx).to_numpy()
    _check(fm.feature("corr_63")[:, 0], corr, 1e-8)


def test_calendar_values() -> None:
    ts = pd.DatetimeIndex(["2024-01-01", "2024-07-05"]).as_unit("ns").asi8  # Mon, Fri
    p = Panel(
        ts.astype(np.int64),
        ("X",),
        {k: np.ones((2, 1)) for k in ("open", "high", "low", "close", "volume")},
    )
    fm = _raw(p, [{"kind": "calendar"}])
    v = fm.values[:, 0]
    np.testing.assert_allclose(v[0], [0.0, 1.0, 0.0, 1.0], atol=1e-12)
    a, b = 2 * np.pi * 4 / 7, 2 * np.pi * 6 / 12
    np.testing.assert_allclose(v[1], [np.sin(a), np.cos(a), np.sin(b), np.cos(b)], atol=1e-12)
