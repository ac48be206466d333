"""A scheduled refit whose fit fails (a classifier's window with a single class) keeps
the previous model and is recorded, instead of ending the run with a traceback."""

from __future__ import annotations

import numpy as np
import pytest

from alphapulse.config import BacktestConfig, parse_config
from alphapulse.core.errors import SettingError
from alphapulse.data.panel import Panel
from alphapulse.ml.research import run_ml
from alphapulse.strategies import ml_strategy

ML = "alphapulse.strategies.ml_strategy:MLStrategy"


def _rising_after(t_up: int, n_bars: int = 240, n_symbols: int = 4) -> Panel:
    """Random walks until ``t_up``, then every close rises every bar (one class)."""
    rng = np.random.default_rng(3)
    steps = rng.normal(0.0, 0.02, (n_bars, n_symbols))
    steps[t_up:] = np.abs(steps[t_up:]) + 0.005
    close = 100.0 * np.exp(np.cumsum(steps, axis=0))
    ts = np.datetime64("2020-01-01", "ns") + np.arange(n_bars) * np.timedelta64(1, "D")
    fields = {"open": close, "high": close, "low": close, "close": close}
    fields["volume"] = np.full_like(close, 1e6)
    return Panel(ts.astype(np.int64), tuple(f"S{i}" for i in range(n_symbols)), fields)


def _cfg(panel: Panel, model: dict[str, object]) -> BacktestConfig:
    params = {
        "features": {"name": "tiny", "features": [{"kind": "returns", "horizons": [1, 5]}]},
        "retrain_every": 40,
        "train_window": 50,  # the refits from bar 160 on see only rising bars
        "min_train_rows": 30,
        "label": {"horizon": 5, "entry": "close"},
        "model": model,
        "drift": {"enabled": False},
    }
    return parse_config(
        {
            "data": {"source": "synthetic", "symbols": list(panel.symbols)},
            "strategies": [{"strategy": ML, "params": params}],
        }
    )


@pytest.mark.parametrize(
    "model",
    [{"kind": "logistic"}, {"kind": "lgbm_classifier", "params": {"n_estimators": 3}}],
)
def test_a_single_class_refit_keeps_the_previous_model(model: dict[str, object]) -> None:
    panel = _rising_after(100)
    cfg = _cfg(panel, model)
    with pytest.warns(UserWarning, match="refit failed at .*keeps the previous model"):
        _, strat = run_ml(cfg, panel)
    failed = [e for e in strat.drift_events if e.kind == "refit_failed"]
    assert [int(np.searchsorted(panel.timestamps, e.ts_ns)) for e in failed] == [160, 200]
    assert all(np.isfinite([e.value, e.threshold]).all() for e in failed)
    assert [r.t for r in strat.retrains] == [40, 80, 120]
    assert strat.current is not None and strat.current.t == 120  # the last good model
    assert np.isfinite(strat.predictions[160:]).all()  # it keeps trading on it


def test_a_refit_refused_by_a_setting_stops_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A SettingError (a ValueError too) at a refit is a setting that cannot work: it
    stops the run with its line, it is not a failed refit kept as an event."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise SettingError("model.window 9 x 4 symbols needs 9.0 GiB of buffer")

    monkeypatch.setattr(ml_strategy, "fit_at", refuse)
    panel = _rising_after(100)
    with pytest.raises(SettingError, match=r"model\.window"):
        run_ml(_cfg(panel, {"kind": "logistic"}), panel)
