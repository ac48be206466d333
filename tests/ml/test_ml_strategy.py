"""MLStrategy in the engine: look-ahead canary, incremental features equal to batch,
and training only on labels realised at the retrain bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphapulse.config import parse_config
from alphapulse.data.catalog import load_panel
from alphapulse.data.panel import Panel
from alphapulse.engine.loop import RunResult
from alphapulse.features import compute_features, default_feature_set
from alphapulse.ml.leakage import perturb_after
from alphapulse.ml.models.spec import build_model
from alphapulse.ml.research import run_ml
from alphapulse.ml.training import learnable, make_labels, target_values, training_rows
from alphapulse.strategies.ml_strategy import MLStrategy, risk_stops

ML = "alphapulse.strategies.ml_strategy:MLStrategy"
SYMBOLS = ["AAPL", "MSFT", "XOM", "JPM", "KO", "PFE", "WMT", "INTC", "CSCO", "HD"]
PARAMS: dict[str, Any] = {
    "start": "2014-06-02",
    "retrain_every": 42,
    "min_train_rows": 200,
    "rebalance_every": 3,
    "label": {"horizon": 5},
    "model": {"kind": "lgbm_classifier", "params": {"n_estimators": 15, "num_leaves": 7}},
    "drift": {"window": 40, "min_samples": 20},
}


@pytest.fixture(scope="module")
def panel(shared_data: Path) -> Panel:
    return load_panel("sp500_daily_2013_2018", SYMBOLS, root=shared_data, end="2015-03-31")


def _run(panel: Panel, **over: Any) -> tuple[RunResult, MLStrategy]:
    cfg = parse_config(
        {
            "data": {"source": "sp500_daily_2013_2018", "symbols": SYMBOLS},
            "execution": {
                "commission": {"model": "per_share", "per_share": 0.005, "minimum": 1.0},
                "slippage": {"model": "fixed_bps", "bps": 2},
            },
            "portfolio": {"method": "confidence", "max_weight": 0.3},
            "strategies": [{"strategy": ML, "params": {**PARAMS, **over}}],
        }
    )
    return run_ml(cfg, panel)


def _orders_until(r: RunResult, ts: int) -> list[tuple[Any, ...]]:
    return [
        (o.id, o.symbol, o.side, o.quantity if o.notional is None else o.notional, o.created_ns)
        for o in r.orders
        if o.created_ns <= ts
    ]


def test_lookahead_canary(panel: Panel) -> None:
    # every prediction check alerts, so its hit rate and Brier score are kept as events
    drift = {**PARAMS["drift"], "min_hit_rate": 1.0, "max_brier": 1e-9}
    base, sb = _run(panel, drift=drift)
    t0 = sb.retrains[1].t + 10  # after two refits, mid-block
    moved, sm = _run(perturb_after(panel, t0, seed=5), drift=drift)
    ts = int(panel.timestamps[t0])
    np.testing.assert_array_equal(sb.features[: t0 + 1], sm.features[: t0 + 1])
    np.testing.assert_array_equal(sb.predictions[: t0 + 1], sm.predictions[: t0 + 1])
    np.testing.assert_array_equal(sb.confidences[: t0 + 1], sm.confidences[: t0 + 1])
    assert np.isfinite(sb.predictions[t0]).any()
    before = _orders_until(base, ts)
    assert before, "the strategy must have traded before T"
    assert before == _orders_until(moved, ts)
    np.testing.assert_array_equal(base.equity[: t0 + 1], moved.equity[: t0 + 1])
    # refits and drift checks (features and realised predictions) up to T saw no later bar
    assert [r for r in sb.retrains if r.t <= t0] == [r for r in sm.retrains if r.t <= t0]
    events = [[e for e in s.drift_events if e.ts_ns <= ts] for s in (sb, sm)]
    assert {e.kind for e in events[0]} >= {"feature_psi", "hit_rate", "brier"}
    assert events[0] == events[1]
    # the perturbation does change what comes after (the canary is not vacuous)
    assert not np.array_equal(sb.predictions[t0 + 20 :], sm.predictions[t0 + 20 :])
    # incremental features in the engine equal the batch computation
    batch = compute_features(panel, default_feature_set())
    assert sb.feature_names == batch.names
    np.testing.assert_array_equal(sb.features, batch.values)


def test_trains_only_on_realised_labels(panel: Panel) -> None:
    """The engine's refit at bar t equals an offline fit on the rows whose labels are
    realised at t; a fit that also used the labels still running at t (known only from
    the future) would give different predictions."""
    _, strat = _run(panel)
    rec = strat.retrains[0]
    t = rec.t
    assert rec.max_label_end <= t
    y, end = make_labels(panel, MLStrategy.Params(**PARAMS).label)  # whole panel: the future
    spec = MLStrategy.Params(**PARAMS).model
    X = strat.features  # equal to batch (see the canary)
    label = MLStrategy.Params(**PARAMS).label
    target = target_values(y, label, "classifier")
    usable = np.isfinite(X).all(axis=2) & learnable(target, label, "classifier")

    def fit_predict(rows: np.ndarray) -> np.ndarray:
        ti, si = np.nonzero(rows & usable)
        m = build_model(spec).fit(X[ti, si], target[ti, si])
        ok = np.isfinite(X[t]).all(axis=1)
        out = np.full(len(SYMBOLS), np.nan)
        out[ok] = m.predict_with_uncertainty(X[t][ok]).mean
        return out

    honest = training_rows(end, t)
    assert int((honest & usable).sum()) == rec.n_rows
    np.testing.assert_array_equal(fit_predict(honest), strat.predictions[t])
    leaky = np.zeros_like(honest)
    leaky[: t + 1] = np.isfinite(y[: t + 1])  # rows up to t, labels realised or not
    assert (leaky & usable & ~honest).sum() >= 4 * len(SYMBOLS)  # the purged rows
    assert not np.array_equal(fit_predict(leaky), strat.predictions[t])


def test_embargo_and_sliding_window(panel: Panel) -> None:
    _, strat = _run(panel, embargo=7, train_window=150)
    for rec in strat.retrains:
        assert rec.max_label_end <= rec.t - 7
        assert rec.first_row >= rec.t + 1 - 150
    assert len(strat.retrains) >= 3


def test_drift_events_and_exits(panel: Panel) -> None:
    _, strat = _run(panel, stop_loss_atr=2.0, take_profit_atr=4.0)
    kinds = {e.kind for e in strat.drift_events}
    assert kinds and kinds <= {"feature_psi", "feature_ks", "hit_rate", "brier"}
    assert strat.exits is not None
    stop, take = strat.exits
    close = panel["close"][-1]
    longs = np.isfinite(stop)
    assert longs.any() and np.all(stop[longs] < close[longs])
    assert np.all(take[longs] > close[longs])
    risk = risk_stops(MLStrategy.Params(**PARAMS, stop_loss_atr=2.0))
    assert risk is not None and risk.stops.stop_loss is not None
    assert risk.stops.stop_loss.method == "atr" and risk.stops.stop_loss.value == 2.0
    assert risk_stops(MLStrategy.Params(**PARAMS)) is None


def test_signal_rule_maps_scores_to_buy_sell_hold() -> None:
    from alphapulse.ml.signals import SignalRule, to_signals

    score = np.array([0.9, 0.1, 0.5, np.nan, 0.7, 0.3])
    conf = np.array([1.0, 0.5, 0.2, 0.9, 0.0, 0.4])
    raw = SignalRule(rank=False, long_above=0.6, exit_below=0.4, short_below=0.2)
    s = to_signals(score, conf, raw)
    np.testing.assert_array_equal(s.direction, [1.0, -1.0, np.nan, np.nan, 1.0, 0.0])
    assert s.confidence is not None
    np.testing.assert_allclose(s.confidence[[0, 1, 4]], [1.0, 0.625, 0.25])
    gated = to_signals(score, conf, raw.model_copy(update={"min_confidence": 0.3}))
    assert gated.direction[4] == 0.0  # too unsure to enter
    ranked = to_signals(score, None, SignalRule(long_above=0.75, exit_below=0.5))
    np.testing.assert_array_equal(ranked.direction, [1.0, 0.0, 0.0, np.nan, 1.0, 0.0])
    with pytest.raises(ValueError):
        SignalRule(long_above=0.3, exit_below=0.5)


def test_backtest_cli_writes_drift_events(shared_data: Path, tmp_path: Path) -> None:
    """``alphapulse backtest`` writes a strategy's extra outputs (``strategy_outputs``):
    the ML strategy's drift_events.csv; other strategies' outputs are unchanged."""
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from alphapulse.cli import app
    from alphapulse.ml.drift import DRIFT_EVENT_COLUMNS

    cfg = {
        "data": {
            "source": "sp500_daily_2013_2018",
            "symbols": SYMBOLS,
            "end": "2015-03-31",
            "root": str(shared_data),
        },
        "portfolio": {"method": "confidence", "max_weight": 0.3},
        "strategies": [
            {"strategy": ML, "name": "ml", "params": PARAMS},
            {"strategy": "buy_and_hold"},
        ],
    }
    path = tmp_path / "bt.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["backtest", str(path), "--out", str(out), "--no-record"])
    assert res.exit_code == 0, res.output
    core = {
        "summary.json",
        "trades.csv",
        "orders.csv",
        "fills.csv",
        "equity.csv",
        "risk_events.csv",
    }
    assert {p.name for p in (out / "ml").iterdir()} == core | {"drift_events.csv"}
    assert {p.name for p in (out / "buy_and_hold").iterdir()} == core
    df = pd.read_csv(out / "ml" / "drift_events.csv")
    assert list(df.columns) == DRIFT_EVENT_COLUMNS and len(df) > 0
    assert set(df["kind"]) <= {"feature_psi", "feature_ks", "hit_rate", "brier"}
