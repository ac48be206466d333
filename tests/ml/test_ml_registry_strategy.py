"""MLStrategy trading a registered model: trained and registered on an early window
(``ml.training.run_training``), then run from the registry on a later window in the
engine: no refits, predictions bit-identical to the registered model's on the same
feature rows, and a feature set that disagrees with the model's is a ConfigError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.features import compute_features, default_feature_set
from alphapulse.ml.integrity import InSampleError
from alphapulse.ml.registry import ModelRegistry
from alphapulse.ml.research import run_ml
from alphapulse.ml.training import TrainConfig, run_training
from alphapulse.strategies.ml_strategy import MLStrategy

ML = "alphapulse.strategies.ml_strategy:MLStrategy"
SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE", "WMT", "INTC", "CSCO", "HD"]
NAME = "reg_lgbm"
MODEL = {"kind": "lgbm_classifier", "params": {"n_estimators": 20, "num_leaves": 7}}
LABEL = {"horizon": 5, "cross_sectional": True}


@pytest.fixture(scope="module")
def root(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding NAME v1, trained on 2013-2014 (labels realised by then)."""
    path = tmp_path_factory.mktemp("registry") / "mlruns"
    cfg = TrainConfig.model_validate(
        {
            "name": NAME,
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "label": LABEL,
            "model": MODEL,
            "train_end": "2014-12-31",
            "registry": {"root": str(path)},
        }
    )
    early = load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2014-12-31")
    assert run_training(cfg, early)["version"] == 1
    return path


@pytest.fixture(scope="module")
def later(shared_data: Path) -> Panel:
    return load_panel(
        "sp500_daily_2013_2018", SYMBOLS, root=shared_data, start="2015-01-01", end="2015-12-31"
    )


def _run(panel: Panel, root: Path, **params: Any) -> tuple[RunResult, MLStrategy]:
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "execution": {
                "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
                "slippage": {"model": "fixed_bps", "bps": 2},
            },
            "portfolio": {"method": "confidence", "max_weight": 0.3},
            "strategies": [
                {
                    "strategy": ML,
                    "params": {
                        "registry": {"name": NAME, "version": 1, "root": str(root)},
                        "rebalance_every": 3,
                        **params,
                    },
                }
            ],
        }
    )
    return run_ml(cfg, panel)


def test_trades_registered_model_without_refits(root: Path, later: Panel) -> None:
    result, strat = _run(later, root)
    assert strat.p.retrain_every is None and strat.retrains == []
    assert strat.p.model.model_dump() == MODEL | {"members": [], "window": None}
    assert strat.p.label.cross_sectional  # taken from the metadata
    assert result.orders, "the strategy must trade"
    model, meta = ModelRegistry(root=root).load(NAME, 1)
    assert meta["train_end"] == "2014-12-31" and meta["feature_set"] == "default"
    # the registered model on the same feature rows (batch features of the later window)
    X = compute_features(later, default_feature_set()).values
    np.testing.assert_array_equal(strat.features, X)
    ok = np.isfinite(X).all(axis=2) & np.isfinite(later["close"])
    assert ok.sum() > 0.6 * ok.size  # the features warm up over the first ~80 bars
    pred = model.predict_with_uncertainty(X[ok])
    np.testing.assert_array_equal(strat.predictions[ok], pred.mean)
    np.testing.assert_array_equal(strat.confidences[ok], pred.confidence)
    assert np.isnan(strat.predictions[~ok]).all()


def test_retraining_continues_from_the_registered_model(root: Path, later: Panel) -> None:
    ref = {"name": NAME, "version": "latest", "root": str(root)}
    _, strat = _run(later, root, registry=ref, retrain_every=120, min_train_rows=200)
    assert [r.t for r in strat.retrains] == [120, 240]  # counted from the first bar
    model, _ = ModelRegistry(root=root).load(NAME)
    t = 119  # the registered model until the first refit
    ok = np.isfinite(strat.predictions[t])
    np.testing.assert_array_equal(
        strat.predictions[t][ok], model.predict_with_uncertainty(strat.features[t][ok]).mean
    )


def test_mismatching_metadata_is_a_config_error(root: Path) -> None:
    ref = {"name": NAME, "root": str(root)}
    small = {"name": "small", "features": [{"kind": "returns"}]}
    msg = r"trained on feature set 'default' v1 but params\.features is 'small' v1"
    with pytest.raises(ConfigError, match=msg) as err:
        MLStrategy(registry=ref, features=small)
    assert "other definition" not in str(err.value)
    other_default = {**default_feature_set().model_dump(mode="json"), "normalize": {"window": 63}}
    with pytest.raises(ConfigError, match="same name and version, other definition"):
        MLStrategy(registry=ref, features=other_default)
    with pytest.raises(ConfigError, match=r"label .* but params\.label"):
        MLStrategy(registry=ref, label={"horizon": 10})
    with pytest.raises(ConfigError, match="has no version 7"):
        MLStrategy(registry={**ref, "version": 7})
    with pytest.raises(ConfigError, match="no registered model named 'nope'"):
        MLStrategy(registry={**ref, "name": "nope"})
    with pytest.raises(ValidationError, match="needs a registry model"):
        MLStrategy.Params(retrain_every=None)
    # explicitly equal parameters are accepted
    strat = MLStrategy(registry=ref, features="default", label=LABEL, model=MODEL)
    assert strat.feature_set == default_feature_set() and strat.registered is not None


def test_in_sample_bars_are_refused(root: Path, shared_data: Path) -> None:
    """The model learnt labels up to late December 2014: a run over 2014 decides on
    bars it was trained on, which is refused with one line naming the model."""
    inside = load_panel(
        "sp500_daily_2013_2018", SYMBOLS, root=shared_data, start="2014-10-01", end="2015-03-31"
    )
    with pytest.raises(InSampleError, match=r"registry model 'reg_lgbm' version 1 .* in sample"):
        _run(inside, root)


def test_allowed_in_sample_bars_are_marked_and_reported_apart(
    root: Path, shared_data: Path
) -> None:
    inside = load_panel(
        "sp500_daily_2013_2018", SYMBOLS, root=shared_data, start="2014-10-01", end="2015-03-31"
    )
    with pytest.warns(UserWarning, match="in sample"):
        _, strat = _run(inside, root, allow_in_sample=True)
    meta = ModelRegistry(root=str(root)).load(NAME, 1)[1]
    known = int(meta["max_label_end_ns"])
    ts = inside.timestamps
    np.testing.assert_array_equal(strat.in_sample, ts < known)
    assert 40 < strat.n_in_sample < len(ts) - 40
    split = strat.strategy_outputs()["sample_split"]
    assert list(split["sample"]) == ["in_sample", "out_of_sample"]
    assert split["bars"].sum() == len(ts)
    assert split["end"].iloc[0] < pd.Timestamp(known, tz="UTC") <= split["start"].iloc[1]
    assert [e.kind for e in strat.drift_events].count("in_sample") == 1


def test_out_of_sample_run_marks_nothing(root: Path, later: Panel) -> None:
    _, strat = _run(later, root)
    assert strat.n_in_sample == 0 and not strat.in_sample.any()
    assert "sample_split" not in strat.strategy_outputs()
