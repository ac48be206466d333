"""Precision and recall on anomalies injected into real sp500 series at known bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphapulse.anomaly import AnomalyConfig
from alphapulse.anomaly.evaluate import INJECTED, Bars, evaluate, inject
from alphapulse.data.panel import Panel

CFG = AnomalyConfig(pattern={"window": 100, "refit_every": 100, "n_estimators": 16})


@pytest.fixture(scope="module")
def report(panel: Panel, bars: Bars) -> pd.DataFrame:
    dirty, truth = inject(bars, np.random.default_rng(1), start=150, spacing=45)
    assert {e.type for e in truth} == set(INJECTED)
    return evaluate(CFG, panel.timestamps, bars, dirty, truth).set_index(["type", "min_severity"])


@pytest.mark.parametrize(
    ("kind", "severity", "recall", "precision"),
    [
        ("price_jump", "HIGH", 0.95, 0.85),
        ("gap", "HIGH", 0.95, 0.85),
        ("volume_spike", "LOW", 0.9, 0.95),
        ("volume_spike", "HIGH", 0.5, 0.95),
        ("stale_price", "MEDIUM", 0.95, 0.95),
        ("bad_tick", "HIGH", 0.85, 0.95),
        ("pattern", "LOW", 0.55, 0.5),
    ],
)
def test_injected_anomalies_are_found(
    report: pd.DataFrame, kind: str, severity: str, recall: float, precision: float
) -> None:
    row = report.loc[(kind, severity)]
    assert row["events"] >= 10
    assert row["recall"] >= recall, row.to_dict()
    assert row["precision"] >= precision, row.to_dict()


def test_severity_trades_recall_for_precision(report: pd.DataFrame) -> None:
    for kind in INJECTED:
        rec = report.loc[kind, "recall"].to_numpy()
        assert (np.diff(rec) <= 1e-12).all(), kind  # LOW -> CRITICAL never finds more
