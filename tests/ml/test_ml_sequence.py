"""Sequence models (LSTM, Transformer) as first-class ML strategy / train / research
models: windows end at each row's own bar, the engine's refit equals an offline fit on
the same windows, a look-ahead canary, research and train round trips (tiny models)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from tests.core.alloc_guard import cap_numpy

from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.features import compute_features, default_feature_set
from alphapulse.ml.leakage import perturb_after
from alphapulse.ml.models import ModelSpec, build_model, window_rows
from alphapulse.ml.registry import ModelRegistry
from alphapulse.ml.research import ResearchConfig, run_ml, run_research
from alphapulse.ml.training import (
    TrainConfig,
    fit_at,
    learnable,
    make_labels,
    run_training,
    target_values,
    training_rows,
)
from alphapulse.strategies.ml_strategy import MLStrategy

ML = "alphapulse.strategies.ml_strategy:MLStrategy"
SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE"]
WINDOW = 5
LSTM: dict[str, Any] = {
    "kind": "lstm",
    "window": WINDOW,
    "params": {"hidden": 8, "epochs": 2, "batch_size": 512},
}
TRANSFORMER: dict[str, Any] = {
    "kind": "transformer",
    "window": WINDOW,
    "params": {
        "d_model": 8,
        "n_heads": 2,
        "n_layers": 1,
        "dim_feedforward": 16,
        "epochs": 2,
        "batch_size": 512,
    },
}
PARAMS: dict[str, Any] = {
    "start": "2014-03-03",
    "retrain_every": 42,
    "min_train_rows": 100,
    "rebalance_every": 3,
    "label": {"horizon": 5},
    "drift": {"window": 40, "min_samples": 20},
}


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2014-12-31")


def _run(panel: Panel, model: dict[str, Any]) -> tuple[RunResult, MLStrategy]:
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "execution": {"slippage": {"model": "fixed_bps", "bps": 2}},
            "portfolio": {"method": "confidence", "max_weight": 0.3},
            "strategies": [{"strategy": ML, "params": {**PARAMS, "model": model}}],
        }
    )
    return run_ml(cfg, panel)


@pytest.fixture(scope="module")
def lstm_run(panel: Panel) -> tuple[RunResult, MLStrategy]:
    return _run(panel, LSTM)


def test_window_rows_end_at_the_rows_own_bar() -> None:
    T, N, F = 30, 4, 3
    bar = np.arange(T, dtype=np.float64)[:, None, None]
    values = np.broadcast_to(bar + np.arange(N)[None, :, None] / 100, (T, N, F)).copy()
    rng = np.random.default_rng(1)
    ti, si = rng.integers(0, T, 50), rng.integers(0, N, 50)
    w = window_rows(values, ti, si, 6)
    assert w.shape == (50, 6, F)
    for k in range(50):
        steps = np.floor(w[k, :, 0])  # the bar each step comes from
        expect = np.arange(ti[k] - 5, ti[k] + 1, dtype=np.float64)
        np.testing.assert_array_equal(steps[expect >= 0], expect[expect >= 0])
        assert np.isnan(w[k, expect < 0]).all()  # before the first bar: NaN, never later
        assert np.nanmax(w[k]) < ti[k] + 1  # nothing after the row's bar
        np.testing.assert_array_equal(w[k, -1], values[ti[k], si[k]])
    # rows at bar t are the same whatever comes after t (or whether it exists)
    t = 17
    at_t = window_rows(values, np.full(N, t), np.arange(N), 6)
    later = values.copy()
    later[t + 1 :] = -1e9
    np.testing.assert_array_equal(at_t, window_rows(later, np.full(N, t), np.arange(N), 6))
    np.testing.assert_array_equal(
        at_t, window_rows(values[: t + 1], np.full(N, t), np.arange(N), 6)
    )
    np.testing.assert_array_equal(window_rows(values, ti, si, None), values[ti, si])


def test_spec_window_validation() -> None:
    with pytest.raises(ValidationError, match="window needs sequence models"):
        ModelSpec(kind="lgbm_classifier", window=5)
    mixed = {"kind": "voting", "window": 5, "members": [{"kind": "lstm"}, {"kind": "logistic"}]}
    with pytest.raises(ValidationError, match="may not mix"):
        ModelSpec.model_validate(mixed)
    with pytest.raises(ValidationError, match="on the ensemble"):
        ModelSpec.model_validate({"kind": "voting", "members": [{"kind": "lstm", "window": 3}]})
    with pytest.raises(ValidationError, match="must equal"):
        ModelSpec.model_validate(
            {"kind": "voting", "window": 5, "members": [{"kind": "lstm", "window": 3}]}
        )
    with pytest.raises(ValidationError):
        MLStrategy.Params.model_validate({"model": {"kind": "ridge", "window": 3}})
    # an all-sequence ensemble trains on the windows
    spec = ModelSpec.model_validate(
        {"kind": "voting", "window": 5, "members": [LSTM | {"window": None}, TRANSFORMER]}
    )
    assert spec.is_sequence and not ModelSpec.model_validate(mixed | {"window": None}).is_sequence
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(60, 5, 3))
    y = rng.normal(size=(60, 5))
    end = np.arange(60)[:, None] + np.zeros((1, 5), dtype=np.int64) + 2
    from alphapulse.ml.training import LabelSpec

    fitted = fit_at(feats, y, end.astype(np.int64), 59, spec, LabelSpec())
    assert fitted is not None and fitted.sample.ndim == 2
    members = fitted.model.members  # type: ignore[attr-defined]
    assert [m.window_ for m in members] == [5, 5]


@pytest.mark.parametrize("model", [LSTM, TRANSFORMER], ids=["lstm", "transformer"])
def test_sequence_strategy_in_the_engine(
    panel: Panel, lstm_run: tuple[RunResult, MLStrategy], model: dict[str, Any]
) -> None:
    """The strategy trades with a windowed model; its first refit equals an offline fit
    on the windows of the rows realised then, bit for bit."""
    result, strat = lstm_run if model is LSTM else _run(panel, model)
    assert len(strat.retrains) >= 3 and result.orders and len(result.fills)
    assert strat.current is not None
    assert strat.current.model.window_ == WINDOW  # type: ignore[attr-defined]
    t = strat.retrains[0].t
    assert np.isfinite(strat.predictions[t]).all()
    p = MLStrategy.Params.model_validate({**PARAMS, "model": model})
    y, end = make_labels(panel, p.label)  # the whole panel: the future too
    X = compute_features(panel, default_feature_set()).values
    np.testing.assert_array_equal(strat.features, X)
    target = target_values(y, p.label, "classifier")
    kept = learnable(target, p.label, "classifier") & np.isfinite(X).all(axis=2)
    ti, si = np.nonzero(training_rows(end, t) & kept)
    assert ti.size == strat.retrains[0].n_rows and ti.max() <= t
    m = build_model(p.model).fit(window_rows(X, ti, si, WINDOW), target[ti, si])
    ok = np.isfinite(X[t]).all(axis=1)
    inputs = strat.inputs(t, ok)
    assert inputs.shape == (ok.sum(), WINDOW, X.shape[2])
    np.testing.assert_array_equal(inputs[:, -1], X[t][ok])
    np.testing.assert_array_equal(
        inputs, window_rows(X[: t + 1], np.full(ok.sum(), t), np.flatnonzero(ok), WINDOW)
    )
    np.testing.assert_array_equal(m.predict_with_uncertainty(inputs).mean, strat.predictions[t][ok])


def test_sequence_lookahead_canary(panel: Panel, lstm_run: tuple[RunResult, MLStrategy]) -> None:
    base, sb = lstm_run
    t0 = sb.retrains[1].t + 10  # after two refits, mid-block
    moved, sm = _run(perturb_after(panel, t0, seed=5), LSTM)
    ts = int(panel.timestamps[t0])
    np.testing.assert_array_equal(sb.features[: t0 + 1], sm.features[: t0 + 1])
    np.testing.assert_array_equal(sb.predictions[: t0 + 1], sm.predictions[: t0 + 1])
    np.testing.assert_array_equal(sb.confidences[: t0 + 1], sm.confidences[: t0 + 1])
    ok = np.isfinite(sb.features[t0]).all(axis=1)
    np.testing.assert_array_equal(sb.inputs(t0, ok), sm.inputs(t0, ok))
    assert np.isfinite(sb.predictions[t0]).any()

    def orders(r: RunResult) -> list[tuple[Any, ...]]:
        return [
            (o.id, o.symbol, o.side, o.quantity if o.notional is None else o.notional)
            for o in r.orders
            if o.created_ns <= ts
        ]

    assert orders(base) and orders(base) == orders(moved)
    np.testing.assert_array_equal(base.equity[: t0 + 1], moved.equity[: t0 + 1])
    assert not np.array_equal(sb.predictions[t0 + 20 :], sm.predictions[t0 + 20 :])


def test_research_with_lstm(shared_data: Path, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "ml_research.yaml"
    cfg = yaml.safe_load(example.read_text())
    cfg["data"].update(symbols=cfg["data"]["symbols"][:8], end="2015-06-30", root=str(shared_data))
    cfg["walk_forward"].update(n_splits=2, test_size=42)
    cfg["ml"]["model"] = LSTM
    cfg["ml"]["min_train_rows"] = 300
    report = run_research(ResearchConfig.model_validate(cfg), tmp_path)
    for name in ("report.html", "report.json", "metrics.csv", "drift_events.csv"):
        assert (tmp_path / name).is_file()
    df = pd.read_csv(tmp_path / "metrics.csv")
    strategies = {"ml", "buy_and_hold", "sma_cross", "mean_reversion"}
    assert set(df["strategy"]) == strategies and len(df) == 3 * len(strategies)
    ml = df[df["strategy"] == "ml"]
    for col in ("sharpe", "total_return", "ic", "pred_hit_rate"):
        assert ml[col].notna().all(), col
    assert report["config"]["ml"]["model"]["window"] == WINDOW
    assert len(report["retrains"]) >= 2


def test_train_registers_a_sequence_model(shared_data: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.model_validate(
        {
            "name": "test_lstm",
            "data": {
                "source": "sp500_daily_2013_2018",
                "symbols": SYMBOLS,
                "root": str(shared_data),
            },
            "label": {"horizon": 5},
            "model": LSTM,
            "train_end": "2014-06-30",
            "test_end": "2014-12-31",
        }
    )
    reg = ModelRegistry(root=tmp_path / "mlruns")
    out = run_training(
        cfg,
        panel=load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2014-12-31"),
        registry=reg,
    )
    assert {"train_ic", "test_ic", "test_brier"} <= set(out["metrics"])
    model, meta = reg.load("test_lstm", out["version"])
    assert meta["params"]["model"]["window"] == WINDOW
    assert model.window_ == WINDOW  # type: ignore[attr-defined]
    panel = load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2014-12-31")
    X = compute_features(panel, default_feature_set()).values
    t = X.shape[0] - 1
    ok = np.isfinite(X[t]).all(axis=1)
    inputs = window_rows(
        X, np.full(ok.sum(), t), np.flatnonzero(ok), meta["params"]["model"]["window"]
    )
    again, _ = reg.load("test_lstm")
    a, b = model.predict_with_uncertainty(inputs), again.predict_with_uncertainty(inputs)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    # the registered model is the trained one: refit offline on the same windows
    fm = build_model(ModelSpec.model_validate(LSTM))
    y, end = make_labels(panel, cfg.label)
    target = target_values(y, cfg.label, "classifier")
    t_end = int(np.searchsorted(panel.timestamps, pd.Timestamp("2014-07-01", tz="UTC").value)) - 1
    ti, si = np.nonzero(
        training_rows(end, t_end)
        & learnable(target, cfg.label, "classifier")
        & np.isfinite(X).all(axis=2)
    )
    assert ti.size == meta["train_rows"]
    fm.fit(window_rows(X, ti, si, WINDOW), target[ti, si])
    np.testing.assert_array_equal(fm.predict_with_uncertainty(inputs).mean, a.mean)


def test_a_window_over_the_limits_is_refused_before_any_buffer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``window`` is at most MAX_WINDOW_BARS, and windows that would need more than
    MAX_BUFFER_BYTES are one line naming ``model.window``, before numpy is asked."""
    with pytest.raises(ValidationError, match="less than or equal to 1000000"):
        ModelSpec(kind="lstm", window=2_000_000)
    cap_numpy(monkeypatch)
    values = np.zeros((200, 10, 8))
    rows = np.arange(200).repeat(10), np.tile(np.arange(10), 200)
    with pytest.raises(ConfigError, match=r"^model\.window 20000 x 10 symbols needs 2\.4 GiB"):
        window_rows(values, *rows, 20_000)
    assert window_rows(values, *rows, 50).shape == (2000, 50, 8)  # 6.4 MB: made
