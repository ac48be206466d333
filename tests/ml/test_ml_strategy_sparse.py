"""The ML strategy on sparse 1-minute bars: it trains with the default feature set, and
a strategy that cannot train says so (a warning and a ``no_training_rows`` event)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.ml.research import run_ml
from alphapulse.strategies.ml_strategy import MLStrategy

ML = "alphapulse.strategies.ml_strategy:MLStrategy"
SYMBOLS = ["TPL", "ERIE", "NVR"]


@pytest.fixture(scope="module")
def sparse(shared_data: Path) -> Panel:
    return load_panel("intraday_1min_2024", SYMBOLS, root=shared_data, end="2024-01-05")


def _run(panel: Panel, **params: Any) -> tuple[RunResult, MLStrategy]:
    base = {
        "retrain_every": 400,
        "label": {"horizon": 5},
        "model": {"kind": "logistic"},
        "drift": {"enabled": False},
    }
    cfg = parse_config(
        {
            "data": {"source": "intraday_1min_2024", "symbols": SYMBOLS},
            "strategies": [{"strategy": ML, "params": {**base, **params}}],
        }
    )
    return run_ml(cfg, panel)


def test_trains_on_sparse_minutes_with_the_default_features(sparse: Panel) -> None:
    """Before the market-feature fix beta_63/corr_63 were never finite here, so no row
    was usable and the strategy never traded (silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "cannot train" warning: only a warm-up
        result, strat = _run(sparse, min_train_rows=100)
    assert strat.retrains and strat.retrains[0].n_rows >= 100
    assert result.orders


def test_a_strategy_that_cannot_train_warns_and_keeps_an_event(sparse: Panel) -> None:
    """A feature that is never finite here (a 1000-bar window) leaves no usable row."""
    features = {"name": "long", "features": [{"kind": "realized_vol", "window": 1000}]}
    with pytest.warns(UserWarning, match="ml strategy cannot train at .*min_train_rows=200"):
        result, strat = _run(sparse, min_train_rows=200, features=features)
    events = [e for e in strat.drift_events if e.kind == "no_training_rows"]
    assert len(events) == len(range(0, sparse.n_bars, 400))  # every retrain bar
    assert events[0].threshold == 200 and events[-1].value == 0
    assert not strat.retrains and not result.orders
    table = strat.strategy_outputs()["drift_events"]
    assert (table["kind"] == "no_training_rows").sum() == len(events)
