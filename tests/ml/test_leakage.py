"""End-to-end leakage demonstration: a deliberately leaked feature (the future return)
makes a purged walk-forward look implausibly good and every check flags it; without it
the out-of-sample accuracy is near chance and the checks pass."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from alphapulse.data.catalog import dataset_symbols, load_panel
from alphapulse.data.panel import Panel
from alphapulse.features import compute_features, default_feature_set
from alphapulse.features.compute import FeatureMatrix
from alphapulse.ml.cv import PurgedWalkForward, rows_label_end
from alphapulse.ml.dataset import Dataset, add_feature, make_dataset
from alphapulse.ml.labels import forward_returns
from alphapulse.ml.leakage import canary, feature_ic_check, implausible, oos_ic_check

H = 5
CV = PurgedWalkForward(n_splits=4, mode="expanding", embargo=H)


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    syms = dataset_symbols("sp500_daily_2013_2018", root=shared_data)[::20]
    return load_panel("sp500_daily_2013_2018", [*syms, "DHR"], root=shared_data)


def _label(p: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Forward 5-bar return relative to the cross-sectional mean (chance = 50% up)."""
    y, end = forward_returns(p, H)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows without any label
        rel = y - np.nanmean(y, axis=1, keepdims=True)
    return rel, end


def _leak(p: Panel) -> np.ndarray:
    rel, _ = _label(p)
    rng = np.random.default_rng(1)
    return rel + 0.3 * np.nanstd(rel) * rng.normal(size=rel.shape)


def _oos_accuracy(ds: Dataset) -> float:
    ends = rows_label_end(ds.time_idx, ds.label_end, ds.n_times)
    hits = n = 0
    for train_t, test_t in CV.split(ds.n_times, ends):
        tr, te = ds.at_times(train_t), ds.at_times(test_t)
        model = LogisticRegression(max_iter=500).fit(tr.X, tr.y > 0, sample_weight=tr.weight)
        hits += int((model.predict(te.X) == (te.y > 0)).sum())
        n += len(te)
    return hits / n


@pytest.fixture(scope="module")
def data(panel: Panel) -> tuple[FeatureMatrix, np.ndarray, np.ndarray]:
    fm = compute_features(panel, default_feature_set())
    y, end = _label(panel)
    return fm, y, end


def test_leaked_feature_is_caught(panel: Panel, data: tuple) -> None:
    fm, y, end = data
    leaky = add_feature(fm, "leak", _leak(panel))
    ds = make_dataset(leaky, y, end)
    acc = _oos_accuracy(ds)
    assert acc > 0.75 and implausible(acc, chance=0.5, max_edge=0.1)
    ic = feature_ic_check(leaky.values, leaky.names, y, end)
    assert ic.flagged == ("leak",), dict(zip(ic.names, ic.future_ic.round(3), strict=True))
    oos = oos_ic_check(ds, CV)
    assert oos.flagged == ("leak",)
    cut = 800
    assert not canary(_leak, panel, cut).ok  # values up to t depend on bars after t
    assert canary(lambda p: compute_features(p, default_feature_set()).values, panel, cut).ok


def test_honest_features_pass(data: tuple) -> None:
    fm, y, end = data
    ds = make_dataset(fm, y, end)
    assert len(ds) > 15_000
    acc = _oos_accuracy(ds)
    assert abs(acc - 0.5) < 0.03 and not implausible(acc, 0.5, 0.1)
    ic = feature_ic_check(fm.values, fm.names, y, end)
    assert ic.ok, dict(zip(ic.names, ic.future_ic.round(3), strict=True))
    assert np.nanmax(np.abs(ic.future_ic)) < 0.1
    assert oos_ic_check(ds, CV).ok
