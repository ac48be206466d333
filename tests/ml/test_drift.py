"""Drift monitoring on synthetic data: shifted features and degraded predictions raise
alerts; a stable window does not."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.ml.drift import (
    DriftConfig,
    DriftMonitor,
    brier,
    hit_rate,
    ks,
    psi,
    reliability,
    write_drift_events,
)


def test_psi_and_ks_separate_stable_from_shifted() -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(size=20_000)
    same = rng.normal(size=5_000)
    shifted = rng.normal(0.8, 1.5, size=5_000)
    assert psi(train, same) < 0.02
    assert psi(train, shifted) > 0.25
    assert ks(train, same)[0] < 0.05
    stat, pvalue = ks(train, shifted)
    assert stat > 0.2 and pvalue < 1e-10
    assert np.isnan(psi(train, np.full(10, np.nan)))


@pytest.mark.parametrize("step", [1.0, -1.0])
def test_psi_sees_a_constant_feature_move_either_way(step: float) -> None:
    """A feature constant in training that moves up or down (e.g. a flag that turns on):
    a value above the top bin's only value used to share that bin, so PSI was 0."""
    train = np.full(1_000, 3.0)
    assert psi(train, np.full(200, 3.0)) == 0.0
    assert psi(train, np.full(200, 3.0 + step)) > 1.0
    capped = np.r_[np.linspace(0.0, 1.0, 800), np.full(200, 1.0)]  # 20% at its maximum
    assert psi(capped, np.r_[np.linspace(0.0, 1.0, 160), np.full(40, 1.0)]) < 0.02
    assert psi(capped, np.r_[np.linspace(0.0, 1.0, 160), np.full(40, 2.0)]) > 1.0


def test_monitor_alerts_only_on_the_shifted_feature(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(size=(5_000, 3))
    recent = rng.normal(size=(1_000, 3))
    recent[:, 1] = recent[:, 1] * 2.0 + 1.0  # feature "b" drifts
    recent[::10, 2] = np.nan  # missing values are ignored
    mon = DriftMonitor(DriftConfig(psi=0.25, ks=0.15))
    events = mon.check_features(123, train, recent, ["a", "b", "c"])
    assert {(e.kind, e.name) for e in events} == {("feature_psi", "b"), ("feature_ks", "b")}
    assert all(e.ts_ns == 123 and e.value > e.threshold for e in events)
    assert [d.name for d in mon.last] == ["a", "b", "c"]
    assert mon.check_features(124, train, rng.normal(size=(1_000, 3)), ["a", "b", "c"]) == []
    write_drift_events(mon.events, tmp_path / "drift_events.csv")
    df = pd.read_csv(tmp_path / "drift_events.csv")
    assert list(df.columns) == ["timestamp", "kind", "name", "value", "threshold", "detail"]
    assert len(df) == 2


def test_prediction_quality_alerts() -> None:
    rng = np.random.default_rng(2)
    realised = rng.normal(size=2_000)
    good = realised + rng.normal(scale=0.5, size=2_000)
    prob_good = 1 / (1 + np.exp(-3 * good))
    mon = DriftMonitor(DriftConfig(min_hit_rate=0.55, max_brier=0.2))
    assert hit_rate(good, realised) > 0.75
    assert mon.check_predictions(1, good, realised, prob=prob_good) == []
    bad = -good  # a model that has turned wrong
    events = mon.check_predictions(2, bad, realised, prob=1 - prob_good)
    assert {e.kind for e in events} == {"hit_rate", "brier"}
    assert brier(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    tab = reliability(prob_good, (realised > 0).astype(float), bins=5)
    assert tab["count"].sum() == 2_000
    assert np.all(np.diff(tab["observed"].to_numpy()) > 0)  # calibrated-ish and monotone
    few = DriftMonitor(DriftConfig(min_samples=100))
    assert few.check_predictions(3, bad[:50], realised[:50]) == []


def test_a_feature_with_too_few_finite_values_raises_no_alert() -> None:
    """A feature that appears only late (3 finite values of 200 recent rows, from the
    training distribution) is below min_samples: no PSI / KS alert on it; the full
    column beside it still alerts on a real shift."""
    rng = np.random.default_rng(0)
    train = rng.normal(size=(500, 2))
    recent = np.full((200, 2), np.nan)
    recent[-3:, 0] = rng.normal(size=3)
    recent[:, 1] = rng.normal(3.0, 1.0, size=200)
    m = DriftMonitor(DriftConfig(min_samples=50))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        events = m.check_features(1, train, recent, ["late", "shifted"])
    assert {e.name for e in events} == {"shifted"}
    assert all(np.isfinite(e.value) for e in events)
