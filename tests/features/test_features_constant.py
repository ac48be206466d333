"""Features of constant windows: a band or z-score of a window without spread is
undefined (NaN), not the rounding noise of its mean turned into +-1."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphapulse.data.panel import Panel
from alphapulse.features import FeatureSetConfig, compute_features

T = 60
# values whose mean over a window is not exactly representable: log1p(v) and the sum
# of 20 or 21 equal closes round, which gave the old kernels a std of ~1e-15
LEVELS = np.array([1e-8, 0.1, 123.457, 1e7])
VOLUMES = np.array([1.0, 123_457.0, 1e6 * 1.2345, 3.3e7])


def _panel(close: np.ndarray, volume: np.ndarray) -> Panel:
    ts = pd.date_range("2020-01-01", periods=T, freq="B", tz="UTC").as_unit("ns").asi8
    fields = {"open": close, "high": close, "low": close, "close": close, "volume": volume}
    return Panel(ts, tuple(f"S{i}" for i in range(len(LEVELS))), fields)


def _features(panel: Panel) -> dict[str, np.ndarray]:
    specs = [{"kind": "volume_z", "window": 21}, {"kind": "bollinger", "period": 20}]
    cfg = FeatureSetConfig(name="flat", features=specs, normalize={"method": "none"})
    fm = compute_features(panel, cfg, None)
    return {n: fm.feature(n) for n in fm.names}


def test_constant_volume_and_price_windows_have_no_z_score() -> None:
    flat = np.ones((T, 1))
    got = _features(_panel(flat * LEVELS, flat * VOLUMES))
    assert np.isnan(got["volz_21"]).all()
    assert np.isnan(got["bb_pctb_20"]).all()


def test_small_real_spread_still_scores() -> None:
    """A spread of 1e-6 of the level is real: the bands and z-scores are finite."""
    wiggle = 1.0 + 1e-6 * (np.arange(T)[:, None] % 2)
    got = _features(_panel(wiggle * LEVELS, wiggle * VOLUMES * 10))
    assert np.isfinite(got["bb_pctb_20"][19:]).all()
    assert np.isfinite(got["volz_21"][20:]).all()
    # 21 alternating values: the current one is among the 11 alike, so its z-score is
    # (10/21) d / sqrt(21/20 x (11/21) (10/21) d^2) = sqrt(10/11 x 20/21)
    want = np.sqrt(10 / 11 * 20 / 21)
    assert np.allclose(np.abs(got["volz_21"][20:]), want, rtol=1e-6)
