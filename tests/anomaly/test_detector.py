"""Detectors: batch equals bar by bar, no look-ahead, IsolationForest scoring parity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sklearn.ensemble import IsolationForest

from alphapulse.anomaly import AnomalyConfig, Severity
from alphapulse.anomaly.config import PatternConfig, Thresholds
from alphapulse.anomaly.detector import AnomalyDetector, scan, scan_arrays
from alphapulse.anomaly.evaluate import Bars
from alphapulse.anomaly.kernels import TYPES
from alphapulse.anomaly.pattern import MAX_TRAIN_ROWS, fit_forest, squash, training_rows
from alphapulse.anomaly.records import severities, thresholds, to_frame
from alphapulse.data.panel import Panel
from alphapulse.ml.leakage import PERTURBATIONS, Perturbation, canary

CFG = AnomalyConfig(pattern={"window": 60, "refit_every": 120, "n_estimators": 10})


def _incremental(cfg: AnomalyConfig, symbols: tuple[str, ...], ts, b: Bars):
    det = AnomalyDetector(cfg, symbols)
    rows, scores, market = [], [], []
    for t in range(len(ts)):
        rows += det.update(int(ts[t]), b.open[t], b.close[t], b.volume[t])
        scores.append(det.score[0].copy())
        market.append(det.market_score[0].copy())
    return rows, np.stack(scores), np.stack(market)


def test_batch_equals_bar_by_bar(panel: Panel, bars: Bars) -> None:
    res = scan_arrays(CFG, panel.timestamps, bars.open, bars.close, bars.volume)
    rows, scores, market = _incremental(CFG, panel.symbols, panel.timestamps, bars)
    np.testing.assert_array_equal(scores, res.score)
    np.testing.assert_array_equal(market, res.market)
    assert np.isfinite(res.score[:, TYPES.index("pattern")]).any()
    batch = to_frame(scan(CFG, panel.symbols, panel.timestamps, bars.open, bars.close, bars.volume))
    pd.testing.assert_frame_equal(to_frame(rows), batch)
    assert set(batch["type"]) >= {"price_jump", "gap", "volume_spike", "pattern", "market_move"}
    assert (batch.loc[batch["type"] == "market_move", "symbol"] == "").all()


def test_no_lookahead(panel: Panel, bars: Bars) -> None:
    """Bars after T change wildly; every anomaly known before T stays the same."""
    T = 400
    moved = bars.copy()
    rng = np.random.default_rng(7)
    for a in (moved.open, moved.close):
        a[T:] *= rng.lognormal(0.0, 0.2, a[T:].shape)
    moved.volume[T:] *= 20.0
    args = (CFG, panel.symbols, panel.timestamps)
    before = to_frame(scan(*args, bars.open, bars.close, bars.volume))
    after = to_frame(scan(*args, moved.open, moved.close, moved.volume))
    cut = pd.Timestamp(int(panel.timestamps[T]), unit="ns", tz="UTC")
    pd.testing.assert_frame_equal(
        before[before.timestamp < cut].reset_index(drop=True),
        after[after.timestamp < cut].reset_index(drop=True),
    )
    assert len(after[after.timestamp >= cut]) > len(before[before.timestamp >= cut])


@pytest.mark.parametrize("how", PERTURBATIONS)
def test_scores_up_to_t_ignore_any_future(panel: Panel, how: Perturbation) -> None:
    """Every type's scores and values and the market move up to T (a pattern refit bar)
    stay the same whether the bars after T are rescaled, missing, spiked or cut off."""

    def scores(p: Panel) -> np.ndarray:
        res = scan_arrays(CFG, p.timestamps, p["open"], p["close"], p["volume"])
        per_bar = [a.reshape(len(res.ts), -1) for a in (res.score, res.v1, res.v2, res.market)]
        return np.concatenate(per_bar, axis=1)

    T = 480
    assert T % CFG.pattern.refit_every == 0
    assert np.isfinite(scores(panel)[T]).any()
    res = canary(scores, panel, T, how=how)
    assert res.ok, res


def test_forest_scores_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    feat = rng.standard_t(3, size=(50, 40, 4))
    cfg = PatternConfig(n_estimators=20, max_samples=128)
    x = training_rows(feat)
    forest = fit_forest(x, cfg)
    assert forest is not None
    ref = IsolationForest(n_estimators=20, max_samples=128, random_state=0).fit(x)
    probe = rng.standard_t(3, size=(500, 4)) * 3
    np.testing.assert_allclose(forest.score(probe), -ref.score_samples(squash(probe)), atol=1e-12)
    gated = forest.score(probe, gate=2.0)
    assert np.isnan(gated[(np.abs(probe) < 2).all(axis=1)]).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=2, max_size=30))
def test_severity_grows_with_score(values: list[float]) -> None:
    levels = thresholds(AnomalyConfig())
    s = np.sort(np.array(values))
    score = np.broadcast_to(s[:, None, None], (len(s), len(TYPES), 1)).copy()
    sev = severities(score, levels)[..., 0]
    assert (np.diff(sev, axis=0) >= 0).all()
    assert (sev[s >= levels[0, 3], 0] == Severity.CRITICAL).all()
    assert (sev[s < levels[0, 0], 0] == Severity.NONE).all()


@pytest.mark.parametrize("field", ["span", "min_periods", "pattern.window", "reaction.bars"])
def test_a_window_beyond_a_million_bars_is_refused_naming_it(field: str) -> None:
    # pattern.window = 10**12 was accepted, then np.full asked for 58.2 TiB
    first, *rest = field.split(".")
    data = {first: {rest[0]: 10**12}} if rest else {first: 10**12}
    with pytest.raises(
        ValidationError, match=rf"{field}\n  Input should be less than or equal to 1000000"
    ):
        AnomalyConfig.model_validate(data)


def test_max_samples_beyond_the_training_pool_is_refused() -> None:
    # max_samples 40,000 was accepted, then the forest never fitted (it needs max_samples / 4
    # rows of a pool thinned to 8,192), so nothing was scored as a pattern
    with pytest.raises(
        ValidationError, match=r"pattern.max_samples\n  Input should be less than or equal to 8192"
    ):
        AnomalyConfig.model_validate({"pattern": {"max_samples": MAX_TRAIN_ROWS + 1}})
    x = training_rows(np.random.default_rng(0).standard_t(3, size=(500, 100, 4)))
    assert len(x) < MAX_TRAIN_ROWS  # 50,000 rows thinned by a stride of 7
    assert fit_forest(x, PatternConfig(n_estimators=5, max_samples=MAX_TRAIN_ROWS)) is not None


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="low <= medium"):
        Thresholds(low=5, medium=4, high=8, critical=12)
    with pytest.raises(ValidationError, match=r"unknown_key|Extra inputs"):
        AnomalyConfig.model_validate({"unknown_key": 1})


def test_bad_tick_is_told_from_a_market_move(panel: Panel, bars: Bars) -> None:
    """A print that reverts is a bad_tick (one bar late); a jump that holds is not."""
    b = bars.copy()
    aapl, msft = panel.symbols.index("AAPL"), panel.symbols.index("MSFT")
    b.close[300, aapl] *= 1.5  # bad print in AAPL, back next bar
    b.close[500:, msft] *= 1.3  # MSFT jumps and stays
    b.open[500:, msft] *= 1.3
    rows = scan(CFG, panel.symbols, panel.timestamps, b.open, b.close, b.volume)
    df = to_frame(rows)
    at = {
        pd.Timestamp(int(panel.timestamps[t]), unit="ns", tz="UTC"): t for t in (300, 301, 500, 501)
    }
    got = {(at.get(r.timestamp), r.symbol, r.type) for r in df.itertuples()}
    assert (301, "AAPL", "bad_tick") in got
    assert (300, "AAPL", "price_jump") in got  # seen in real time as a jump
    assert (301, "AAPL", "price_jump") not in got  # the reversion is the tick, not a jump
    assert (301, "AAPL", "gap") not in got  # nor a gap from the bad print to the open
    assert (500, "MSFT", "price_jump") in got
    assert not any(s == "MSFT" and k == "bad_tick" and t in (500, 501) for t, s, k in got)
    bt = df[(df.type == "bad_tick") & (df.symbol == "AAPL")].iloc[0]
    assert bt.severity == "CRITICAL" and "reverted" in bt.message


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 6),
    holes=st.floats(0.0, 0.3),
    profile=st.booleans(),
)
def test_batch_equals_bar_by_bar_on_random_bars(
    seed: int, n: int, holes: float, profile: bool
) -> None:
    """Gaps in the data, repeated prices, jumps, one or many symbols: same scores."""
    rng = np.random.default_rng(seed)
    T = 90
    close = 50 * np.exp(np.cumsum(rng.standard_t(3, (T, n)) * 0.02, axis=0))
    close[rng.random((T, n)) < 0.1] = np.nan  # missing bars
    close[30:40, 0] = close[29, 0] if np.isfinite(close[29, 0]) else 50.0  # a stale run
    open_ = close * np.exp(rng.normal(0, 0.01, (T, n)))
    volume = rng.lognormal(10, 1, (T, n))
    volume[rng.random((T, n)) < holes] = np.nan
    ts = np.arange(T, dtype=np.int64) * 60_000_000_000 * 7  # 7-minute bars
    cfg = AnomalyConfig(
        min_periods=5,
        volume_profile=profile,
        pattern={"window": 20, "refit_every": 25, "n_estimators": 5, "max_samples": 32},
    )
    res = scan_arrays(cfg, ts, open_, close, volume)
    b = Bars(open_, close, close, close, volume)
    _, scores, market = _incremental(cfg, tuple(f"S{i}" for i in range(n)), ts, b)
    np.testing.assert_array_equal(scores, res.score)
    np.testing.assert_array_equal(market, res.market)
