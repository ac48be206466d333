"""``alphapulse train`` with ``tuning:``: Optuna on the training window's rows only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import alphapulse.ml.tuning as tuning_mod
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.features import compute_features, default_feature_set
from alphapulse.ml.models.lgbm import LGBMClassifierModel
from alphapulse.ml.registry import ModelRegistry
from alphapulse.ml.training import (
    TrainConfig,
    _bar,
    load_train_config,
    make_labels,
    run_training,
)

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE", "WMT", "INTC"]
SPACE = {
    "num_leaves": {"type": "int", "low": 2, "high": 5},
    "learning_rate": {"type": "log_float", "low": 0.01, "high": 0.3},
    "min_data_in_leaf": {"type": "categorical", "choices": [20, 50]},
}


def _cfg(root: Path | None = None, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS}
    if root is not None:
        data["root"] = str(root)
    cfg: dict[str, Any] = {
        "name": "tuned_lgbm",
        "data": data,
        "label": {"horizon": 5},
        "model": {"kind": "lgbm_classifier", "params": {"n_estimators": 10, "num_leaves": 7}},
        "train_end": "2014-12-31",
        "test_end": "2015-06-30",
        "tuning": {"n_trials": 5, "n_splits": 3, "embargo": 2, "space": SPACE},
    }
    cfg.update(over)
    return cfg


def test_tuning_sets_params_from_space_and_registers_them(
    shared_data: Path, tmp_path: Path
) -> None:
    reg = ModelRegistry(root=tmp_path / "mlruns")
    out = run_training(TrainConfig.model_validate(_cfg(shared_data)), registry=reg)
    model, meta = reg.load("tuned_lgbm", out["version"])
    tu = meta["tuning"]
    assert tu["n_trials"] == 5 and tu["metric"] == "log_loss" and tu["direction"] == "minimize"
    assert np.isfinite(tu["best_value"]) and 0 < tu["best_value"] < 1.5
    best = tu["best_params"]
    assert set(best) == set(SPACE)
    assert 2 <= best["num_leaves"] <= 5  # not the base 7
    assert 0.01 <= best["learning_rate"] <= 0.3 and best["min_data_in_leaf"] in (20, 50)
    params = meta["params"]["model"]["params"]
    assert params == {"n_estimators": 10, **best}  # the registered spec is the tuned one
    assert model.params["num_leaves"] == best["num_leaves"]
    assert "test_ic" in out["metrics"] and "test_brier" in out["metrics"]


def test_tuning_never_sees_the_holdout(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = TrainConfig.model_validate(_cfg(shared_data))
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2015-06-30")
    feats = compute_features(panel, default_feature_set()).values
    _, label_end = make_labels(panel, cfg.label)
    t_end = _bar(panel.index(), cfg.train_end)
    where: dict[bytes, tuple[int, int]] = {}  # feature row -> its (latest) bar, symbol
    for t, n in zip(*np.nonzero(np.isfinite(feats).all(axis=2)), strict=True):
        key = feats[t, n].tobytes()
        where[key] = max(where.get(key, (-1, -1)), (int(t), int(n)))

    seen: list[tuple[str, np.ndarray]] = []
    inside = [False]
    real_tune, real_fit = tuning_mod.tune, LGBMClassifierModel.fit
    real_proba = LGBMClassifierModel.predict_proba

    def spy_tune(*args: Any, **kwargs: Any) -> Any:
        inside[0] = True
        try:
            return real_tune(*args, **kwargs)
        finally:
            inside[0] = False

    def spy_fit(self: LGBMClassifierModel, X: Any, y: Any, **kw: Any) -> Any:
        if inside[0]:
            seen.append(("fit", np.array(X)))
        return real_fit(self, X, y, **kw)

    def spy_proba(self: LGBMClassifierModel, X: Any) -> Any:
        if inside[0]:
            seen.append(("score", np.array(X)))
        return real_proba(self, X)

    monkeypatch.setattr(tuning_mod, "tune", spy_tune)
    monkeypatch.setattr(LGBMClassifierModel, "fit", spy_fit)
    monkeypatch.setattr(LGBMClassifierModel, "predict_proba", spy_proba)
    run_training(cfg, panel=panel, registry=ModelRegistry(root=tmp_path / "mlruns"))

    fits = [X for what, X in seen if what == "fit"]
    assert len(fits) == 5 * 3  # every trial, every purged fold
    assert len(seen) == 2 * len(fits)  # and each fold was scored
    for _, X in seen:
        bars, syms = np.array([where[row.tobytes()] for row in X]).T
        assert bars.max() <= t_end  # no row after the end of the training window
        assert label_end[bars, syms].max() <= t_end  # and every label realised by then


def test_bad_space_keys_name_them(tmp_path: Path) -> None:
    space = {
        **SPACE,
        "num_leafs": {"type": "int", "low": 2, "high": 5},
        "bogus": SPACE["num_leaves"],
    }
    cfg = TrainConfig.model_validate(_cfg(tuning={"n_trials": 2, "space": space}))
    with pytest.raises(ConfigError, match=r"no parameter\(s\) \['bogus', 'num_leafs'\]"):
        run_training(cfg)  # fails before any data is loaded
    ridge = _cfg(model={"kind": "ridge"}, tuning={"space": {"C": SPACE["learning_rate"]}})
    with pytest.raises(ConfigError, match=r"ridge has no parameter\(s\) \['C'\]"):
        run_training(TrainConfig.model_validate(ridge))
    mse = _cfg(tuning={"metric": "mse", "space": SPACE})
    with pytest.raises(ConfigError, match="mse needs a regressor"):
        run_training(TrainConfig.model_validate(mse))
    path = tmp_path / "t.yaml"
    bad = {"num_leaves": {"type": "int", "low": 5, "high": 2}}
    path.write_text(yaml.safe_dump(_cfg(tuning={"space": bad, "trials": 3})))
    with pytest.raises(ConfigError, match="trials") as exc:
        load_train_config(path)
    assert "low <= high" in str(exc.value)
