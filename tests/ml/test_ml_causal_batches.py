"""No look-ahead below the strategy: a sequence model's prediction for a row does not
depend on the rows predicted with it (later bars, how many, a last batch of one row);
triple-barrier labels read only their own horizon and past volatility; tuning folds that
purging leaves without training rows are one clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Ridge

from alphapulse.core.errors import SettingError
from alphapulse.data.panel import Panel
from alphapulse.ml.labels import triple_barrier
from alphapulse.ml.models import LSTMModel, TransformerModel, window_rows
from alphapulse.ml.models.sequence import SequenceModel
from alphapulse.ml.tuning import tune

TINY = {
    TransformerModel: {"d_model": 8, "n_heads": 2, "n_layers": 1, "dim_feedforward": 16},
    LSTMModel: {"hidden": 8},
}


@pytest.mark.parametrize("cls", [TransformerModel, LSTMModel])
def test_prediction_at_t_ignores_the_bars_after_t_and_the_batching(
    cls: type[SequenceModel],
) -> None:
    """One symbol, so every bar is one row: the engine predicts bar t alone (a batch of
    one), an offline run predicts bars 0..t in batches of 4 (the last one partial, one
    row for every fourth t) or the whole span with bars after t changed."""
    rng = np.random.default_rng(5)
    n_bars, window = 40, 4
    feats = rng.normal(size=(n_bars, 1, 3))
    bars, sym = np.arange(n_bars), np.zeros(n_bars, dtype=np.int64)
    fit_bars = bars[window:24]
    y = np.sign(feats[fit_bars, 0, 0] + 0.1)
    model = cls(epochs=2, batch_size=8, predict_batch=4, **TINY[cls])
    model.fit(window_rows(feats, fit_bars, sym[fit_bars], window), y)
    ref = model.predict_proba(window_rows(feats, bars, sym, window))
    for t in range(n_bars):
        later = feats.copy()
        later[t + 1 :] = rng.normal(scale=50.0, size=later[t + 1 :].shape)
        cut = model.predict_proba(window_rows(later, bars[: t + 1], sym[: t + 1], window))
        alone = model.predict_proba(window_rows(later, bars[t : t + 1], sym[:1], window))
        changed = model.predict_proba(window_rows(later, bars, sym, window))
        assert np.array_equal(cut, ref[: t + 1]), t
        assert np.array_equal(alone[0], ref[t]), t
        assert np.array_equal(changed[: t + 1], ref[: t + 1]), t
        assert t == n_bars - 1 or not np.array_equal(changed[t + 1 :], ref[t + 1 :])


def _panel(close: np.ndarray) -> Panel:
    return Panel(
        np.arange(close.shape[0], dtype=np.int64),
        tuple(f"S{i}" for i in range(close.shape[1])),
        {"open": close, "high": close, "low": close, "close": close, "volume": close * 0 + 1},
    )


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.integers(1, 5),
    st.integers(2, 5),
    st.floats(0.2, 2.0),
    st.floats(0.2, 2.0),
)
def test_triple_barrier_reads_its_horizon_and_past_volatility_only(
    seed: int, horizon: int, vol_window: int, up: float, down: float
) -> None:
    """Label at own bar k: bars after k + horizon or before k - vol_window may change
    freely; the last ``horizon`` own bars (and bars without a price) are unlabelled."""
    rng = np.random.default_rng(seed)
    n = 40
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, 1)), axis=0))
    close[rng.random((n, 1)) < 0.15] = np.nan
    rows = np.flatnonzero(close[:, 0] > 0)
    lab, ret, end = triple_barrier(_panel(close), horizon, up, down, vol_window)
    assert np.isnan(lab[np.isnan(close[:, 0]), 0]).all()
    assert np.isnan(lab[rows[-horizon:], 0]).all() and (end[rows[-horizon:], 0] == -1).all()
    labelled = rows[vol_window : len(rows) - horizon]
    assert not np.isnan(lab[labelled, 0]).any()
    for k in range(vol_window, len(rows) - horizon):
        t, last, first = rows[k], rows[k + horizon], rows[k - vol_window]
        assert t < end[t, 0] <= last
        moved = close.copy()
        moved[last + 1 :] *= math.e  # the future after the horizon
        moved[:first] *= rng.uniform(0.5, 2.0, size=(first, 1))  # the past before sigma
        lab2, ret2, end2 = triple_barrier(_panel(moved), horizon, up, down, vol_window)
        assert (lab2[t, 0], end2[t, 0]) == (lab[t, 0], end[t, 0])
        assert ret2[t, 0] == ret[t, 0]


def test_tuning_without_a_fold_that_has_training_rows_is_one_clear_error() -> None:
    """Labels 20 bars long over 12 times: purged 3-fold keeps no training row in any
    fold, so tuning stops with one line instead of Optuna failing every trial."""
    rng = np.random.default_rng(0)
    times = np.repeat(np.arange(12), 2)
    X, y = rng.normal(size=(24, 2)), rng.normal(size=24)
    built: list[int] = []

    def factory(_trial: object) -> Ridge:
        built.append(1)
        return Ridge()

    with pytest.raises(SettingError, match=r"n_splits 3, embargo 0\) over 12 times leaves no"):
        tune(factory, X, y, times, times + 20, 2, n_splits=3)
    assert not built
    res = tune(factory, X, y, times, times, 2, n_splits=3)  # labels of one bar: folds train
    assert np.isfinite(res.best_value) and len(built) == 2 * 3
