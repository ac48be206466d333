"""``alphapulse train``: one model on a window, registered, loaded back identical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.features import compute_features, default_feature_set
from alphapulse.ml.registry import ModelRegistry
from alphapulse.ml.training import TrainConfig, load_train_config, run_training, training_rows

SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE", "WMT", "INTC"]


def _cfg(**over: object) -> dict:
    cfg: dict = {
        "name": "test_lgbm",
        "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
        "label": {"horizon": 5},
        "model": {"kind": "lgbm_classifier", "params": {"n_estimators": 10, "num_leaves": 7}},
        "train_end": "2014-12-31",
        "test_end": "2015-06-30",
    }
    cfg.update(over)
    return cfg


def test_training_rows_purges_unrealised_labels() -> None:
    end = np.array([[3, 4], [5, 9], [6, 7], [8, 8], [99, 99]])
    assert training_rows(end, 6).tolist() == [
        [True, True], [True, False], [True, False], [False, False], [False, False]
    ]  # fmt: skip
    assert training_rows(end, 6, embargo=1).tolist()[1] == [True, False]
    assert training_rows(end, 6, embargo=2).tolist()[2] == [False, False]
    assert training_rows(end, 8, train_window=7).tolist()[:3] == [
        [False, False], [False, False], [True, True]
    ]  # fmt: skip


def test_train_register_and_load_round_trip(shared_data: Path, tmp_path: Path) -> None:
    reg = ModelRegistry(root=tmp_path / "mlruns")
    cfg = TrainConfig.model_validate(_cfg(data={**_cfg()["data"], "root": str(shared_data)}))
    out = run_training(cfg, registry=reg)
    assert out["version"] == 1
    m = out["metrics"]
    assert {
        "train_rows",
        "train_hit_rate",
        "train_ic",
        "test_rows",
        "test_ic",
        "test_brier",
    } <= set(m)
    assert m["train_rows"] == out["metadata"]["train_rows"]
    meta = out["metadata"]
    assert meta["train_end"] == "2014-12-31"
    assert meta["max_label_end"] <= "2014-12-31"
    assert meta["leakage"]["ok"] and not meta["leakage"]["override"]
    assert meta["max_label_end_ns"] <= meta["train_end_ns"]
    model, loaded_meta = reg.load("test_lgbm", 1)
    assert loaded_meta["data_hash"] == meta["data_hash"]
    assert loaded_meta["params"]["label"]["horizon"] == 5
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2015-06-30")
    X = compute_features(panel, default_feature_set()).values[-1]
    X = X[np.isfinite(X).all(axis=1)]
    again, _ = reg.load("test_lgbm")
    np.testing.assert_array_equal(
        model.predict_with_uncertainty(X).mean, again.predict_with_uncertainty(X).mean
    )
    assert run_training(cfg, registry=reg)["version"] == 2


def test_train_cli(shared_data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_DATA", str(shared_data))
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(_cfg(registry={"root": str(tmp_path / "reg")})))
    res = CliRunner().invoke(app, ["train", str(path)])
    assert res.exit_code == 0, res.output
    assert "registered test_lgbm version 1" in res.output
    assert "test_ic" in res.output
    assert ModelRegistry(root=tmp_path / "reg").versions("test_lgbm") == [1]


def test_model_name_the_registry_refuses_is_a_config_error(tmp_path: Path) -> None:
    """A name the registry would refuse fails when the config loads, naming the field
    (found by tests/test_cli_fuzz.py: it used to reach the registry as a ValueError)."""
    cfg = {
        "name": "[x]",
        "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]},
        "model": {"kind": "logistic"},
        "train_end": "2015-12-31",
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="name"):
        load_train_config(path)
    cfg["name"] = "ok-name_1.2"
    path.write_text(yaml.safe_dump(cfg))
    assert load_train_config(path).name == "ok-name_1.2"


def test_unquoted_dates_and_bad_yaml_read_as_a_run_config_does(tmp_path: Path) -> None:
    """``train_end: 2015-12-31`` unquoted was refused ('a valid string'), a bad date
    was a parser traceback and bad YAML syntax a yaml.ScannerError traceback."""
    body = "name: m\ndata: {source: sp500_daily_2013_2018}\nmodel: {kind: logistic}\n"
    path = tmp_path / "t.yaml"
    path.write_text(body + "train_end: 2015-12-31\n")
    assert load_train_config(path).train_end == "2015-12-31"
    path.write_text(body + "train_end: 2015-13-31\n")
    with pytest.raises(ConfigError, match=r"train_end: .*not a date.*'2015-13-31'"):
        load_train_config(path)
    path.write_text(body + "train_end: [2015\n")
    with pytest.raises(ConfigError, match=r"t\.yaml: line \d+, column \d+: not valid YAML"):
        load_train_config(path)


def test_training_window_outside_the_data_is_a_config_error(
    shared_data: Path, tmp_path: Path
) -> None:
    """A holdout ending before train_end, or a train_end after the last bar loaded, is an
    error rather than a silently shorter window."""
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(_cfg(test_end="2014-06-30")))
    with pytest.raises(ConfigError, match="test_end 2014-06-30 must be after train_end"):
        load_train_config(path)
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS[:2], root=shared_data, end="2014-06-30")
    cfg = TrainConfig.model_validate(_cfg(test_end=None))
    with pytest.raises(ConfigError, match=r"train_end 2014-12-31 is after the last bar loaded"):
        run_training(cfg, panel, ModelRegistry(root=tmp_path / "mlruns"))


@pytest.mark.parametrize(
    "label",
    [
        {"kind": "triple_barrier", "horizon": 10, "up_mult": 1.0, "down_mult": 1.0},
        {"horizon": 10, "uniqueness_weights": True},
    ],
    ids=["triple_barrier", "uniqueness_weights"],
)
def test_the_holdout_bars_change_nothing_in_training(
    shared_data: Path, tmp_path: Path, label: dict
) -> None:
    """The bars loaded for the holdout are the training window's future: the model
    trained with them loaded equals the one trained on the window's bars alone (it
    learnt triple-barrier labels that hit a barrier by train_end only when the bars
    after it completed their horizon, and weighted rows by labels still running at
    train_end)."""
    cfg = TrainConfig.model_validate(_cfg(label=label, model={"kind": "logistic"}))
    reg = ModelRegistry(root=tmp_path / "mlruns")
    runs = [
        run_training(cfg, load_panel(cfg.data.source, SYMBOLS, root=shared_data, end=end), reg)
        for end in ("2015-06-30", "2014-12-31")
    ]
    meta = [out["metadata"] for out in runs]
    assert meta[0]["train_rows"] == meta[1]["train_rows"]
    gate = [[c for c in m["leakage"]["checks"] if c["check"] != "accuracy"] for m in meta]
    assert gate[0] == gate[1]  # the feature checks (the holdout's accuracy is extra)
    train = [{k: v for k, v in out["metrics"].items() if k.startswith("train_")} for out in runs]
    assert train[0] == train[1]
    panel = load_panel(cfg.data.source, SYMBOLS, root=shared_data, end="2014-12-31")
    feats = compute_features(panel, default_feature_set()).values[-60:]
    X = feats.reshape(-1, feats.shape[-1])
    X = X[np.isfinite(X).all(axis=1)]
    a, b = (reg.load("test_lgbm", out["version"])[0] for out in runs)
    np.testing.assert_array_equal(
        a.predict_with_uncertainty(X).mean, b.predict_with_uncertainty(X).mean
    )
