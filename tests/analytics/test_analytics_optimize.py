"""Walk-forward optimisation: windows, selection on in-sample bars only, stitching, the
optuna path, config errors and the CLI."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from alphapulse.analytics import optimize as opt
from alphapulse.analytics.optimize_config import OptimizeConfig, Range, load_optimize_config
from alphapulse.cli import app
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel

N = 400
BACKTEST = {"data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"]}}


def _panel() -> Panel:
    ts = pd.date_range("2015-01-01", periods=N + 1, freq="B", tz="UTC").as_unit("ns").asi8
    ones = np.ones((N + 1, 1))
    return Panel(ts, ("AAPL",), {k: ones for k in ("open", "high", "low", "close", "volume")})


def _fake_returns(fast: int) -> np.ndarray:
    """fast=5 earns in the first half, fast=10 in the second, fast=15 never."""
    rng = np.random.default_rng(fast)
    r = rng.normal(0.0, 0.001, N)
    half = N // 2
    if fast == 5:
        r[:half] += 0.002
    if fast == 10:
        r[half:] += 0.002
    return r


def _flat(panel: Panel) -> SimpleNamespace:
    """A fake run that never trades (the fakes' buy-and-hold baseline)."""
    return SimpleNamespace(equity=np.full(panel.n_bars, 1e6), fills=[])


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def run_backtest(cfg: Any, panel: Panel, workers: Any = None) -> dict[str, Any]:
        out = {}
        for s in cfg.strategies:
            if s.strategy == "buy_and_hold":  # the baseline: flat, no trades
                out[s.label] = _flat(panel)
                continue
            calls.append(s.params["fast"])
            eq = np.cumprod(np.r_[1e6, 1.0 + _fake_returns(s.params["fast"])])
            out[s.label] = SimpleNamespace(equity=eq, fills=[])
        return out

    monkeypatch.setattr(opt, "run_backtest", run_backtest)
    return calls


def _cfg(**over: Any) -> OptimizeConfig:
    base = {
        "backtest": BACKTEST,
        "strategy": "sma_cross",
        "engine": "event",
        "fixed": {"slow": 50},
        "params": {"fast": [5, 10, 15]},
        "walk_forward": {"train_bars": 100, "test_bars": 50},
    }
    return OptimizeConfig.model_validate({**base, **over})


def test_windows_roll_by_the_test_length() -> None:
    assert opt.windows(10, 4, 3) == [(0, 4, 7), (3, 7, 10)]
    assert opt.windows(11, 4, 4) == [(0, 4, 8), (4, 8, 11)]  # 3 >= 4 // 2 kept
    w = opt.windows(400, 100, 50)
    assert w[0] == (0, 100, 150) and all(
        b2 == c1 for (_, _, c1), (_, b2, _) in itertools.pairwise(w)
    )
    assert w[-1][2] == 400
    with pytest.raises(ConfigError, match="50 bars are fewer than train_bars"):  # one line
        opt.windows(50, 100, 10)
    # more than train_bars + 1 but no room for half a test window: the message names the
    # rule that failed and the bars needed (252 + 63 // 2), not "train_bars + 1"
    with pytest.raises(ConfigError, match=r"262 bars are fewer than .* = 283$"):
        opt.windows(262, 252, 63)
    assert opt.windows(283, 252, 63) == [(0, 252, 283)]


def test_grid_chooses_in_sample_best_and_stitches(fake_engine: list[int]) -> None:
    res = opt.optimize(_cfg(), _panel())
    chosen = [w["params"]["fast"] for w in res["windows"]]
    # training data entirely in the first half -> 5; entirely in the second -> 10
    assert chosen[0] == 5 and chosen[-1] == 10
    assert sorted(set(fake_engine)) == [5, 10, 15] and len(fake_engine) == 3  # each set once
    stitched = np.concatenate(
        [_fake_returns(w["params"]["fast"])[b:c] for w, (_, b, c) in
         zip(res["windows"], opt.windows(N, 100, 50), strict=True)]
    )  # fmt: skip
    eq = np.asarray(res["oos_equity"]["equity"])
    assert np.allclose(eq[1:] / eq[:-1] - 1.0, stitched)
    assert 0.0 <= res["oos"]["pbo"] <= 1.0 and 0.0 <= res["oos"]["deflated_sharpe"] <= 1.0


def test_choice_ignores_bars_after_the_training_window(
    fake_engine: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ev = opt.Evaluations(_cfg(), _panel())
    first = opt._choose(ev, 0, 100, 252.0, 0)
    for key, r in ev.returns.items():  # rewrite the future of every set
        r[100:] = -0.05 if dict(key)["fast"] == first["fast"] else 0.05
    assert opt._choose(ev, 0, 100, 252.0, 0) == first


@pytest.mark.parametrize("objective", ["calmar", "sharpe"])
def test_choice_annualises_with_the_bars_known_then(fake_engine: list[int], objective: str) -> None:
    """The bars per year a window's scores use come from the bars up to its last
    training bar: weekly bars after bar 120 (52 a year, not 252) move no earlier score."""
    daily = _panel()
    ts = daily.timestamps.copy()
    ts[121:] = ts[120] + np.arange(1, N - 119) * 7 * 86_400 * 10**9
    weekly = Panel(ts, daily.symbols, dict(daily.fields))
    cfg = _cfg(objective=objective)
    a, b = (opt.optimize(cfg, p)["windows"] for p in (daily, weekly))
    known = [k for k, (_, end, _) in enumerate(opt.windows(N, 100, 50)) if end <= 120]
    assert known == [0]
    for k in known:
        assert (a[k]["params"], a[k]["in_sample"]) == (b[k]["params"], b[k]["in_sample"])
    assert a[-1]["in_sample"] != b[-1]["in_sample"]  # later windows do see them


def test_optuna_path(fake_engine: list[int]) -> None:
    res = opt.optimize(_cfg(method="optuna", n_trials=8), _panel())
    tried = sorted(set(fake_engine))
    assert res["n_sets"] == len(tried) and len(fake_engine) == len(tried)  # each set once
    for w, (a, b, _) in zip(res["windows"], opt.windows(N, 100, 50), strict=True):
        scores = {f: opt.objective(_fake_returns(f)[a:b], "sharpe", 252.0) for f in tried}
        assert w["params"]["fast"] == max(scores, key=scores.__getitem__)


def test_optuna_without_a_valid_trial_is_a_config_error(fake_engine: list[int]) -> None:
    """Every set breaks the strategy's rule (fast < slow): one line, not optuna's
    'No trials are completed yet' traceback."""
    cfg = _cfg(method="optuna", n_trials=4, fixed={"slow": 3})
    with pytest.raises(ConfigError, match="none of the 4 optuna trials of window 0"):
        opt.optimize(cfg, _panel())
    assert fake_engine == []


def test_optuna_trials_run_in_batches_through_the_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Trials are asked ``TRIAL_BATCH`` at a time and their new sets run as one
    multi-strategy backtest: one executor map (``backtest.executor``) per batch."""
    batches: list[tuple[int, Any]] = []

    def run_backtest(cfg: Any, panel: Panel, workers: Any = None) -> dict[str, Any]:
        if cfg.strategies[0].strategy == "buy_and_hold":  # the baseline, not a trial
            return {cfg.strategies[0].label: _flat(panel)}
        batches.append((len(cfg.strategies), cfg.executor))
        rets = {s.label: _fake_returns(s.params["fast"] % 3 * 5 + 5) for s in cfg.strategies}
        eqs = {k: np.cumprod(np.r_[1e6, 1.0 + r]) for k, r in rets.items()}
        return {k: SimpleNamespace(equity=eq, fills=[]) for k, eq in eqs.items()}

    monkeypatch.setattr(opt, "run_backtest", run_backtest)
    backtest = {**BACKTEST, "executor": {"kind": "local", "num_cpus": 2}}
    space = {"fast": {"low": 2, "high": 40, "step": 1}}
    cfg = _cfg(method="optuna", n_trials=16, params=space, backtest=backtest)
    res = opt.optimize(cfg, _panel())
    assert batches[0][0] > 1 and sum(n for n, _ in batches) == res["n_sets"]
    assert len(batches) <= 2 * len(res["windows"])  # 16 trials: two batches a window at most
    assert all(e.kind == "local" and e.num_cpus == 2 for _, e in batches)


def test_a_grid_beyond_its_span_is_refused_before_it_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 2e9 combinations were built and validated (memory exhausted) before any limit was read
    def never(*_: object) -> list[Any]:
        raise AssertionError("the grid was built")

    monkeypatch.setattr(Range, "values", never)
    monkeypatch.setattr(OptimizeConfig, "valid", never)
    cfg = _cfg(fixed={}, params={"fast": {"low": 1, "high": 1e9, "step": 1}, "slow": [50, 100]})
    with pytest.raises(ConfigError, match=re.escape(
        "optimize: params: 2,000,000,000 combinations (fast 1,000,000,000 x slow 2), more than"
        " the 1,000,000 a grid may span"
    )):  # fmt: skip
        cfg.grid()
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    assert 1 <= opt._suggest(trial, "fast", cfg.params["fast"]) <= 10**9  # nor built here
    with pytest.raises(ValidationError, match="max_sets"):
        _cfg(max_sets=10**12)
    with pytest.raises(ValidationError, match="step 1e-320 is too small"):
        Range(low=0, high=1e9, step=1e-320)


def test_config_values_and_errors(tmp_path: Path) -> None:
    assert Range(low=40, high=100, step=30).values() == [40, 70, 100]
    assert Range(low=0.5, high=1.0, step=0.25).values() == [0.5, 0.75, 1.0]
    cfg = _cfg(fixed={}, params={"fast": [10, 60], "slow": [50]})
    with pytest.raises(ConfigError, match="fewer than two valid"):
        cfg.grid()
    path = tmp_path / "o.yaml"
    path.write_text(yaml.safe_dump({"backtest": BACKTEST, "strategy": "sma_cross",
                                    "params": {"fsat": [1, 2]}}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['fsat'\]"):
        load_optimize_config(path)
    path.write_text(yaml.safe_dump({"backtest": BACKTEST, "strategy": "sma_cross",
                                    "params": {"fast": [1, 2]}, "methd": "grid"}))  # fmt: skip
    with pytest.raises(ConfigError, match="methd"):
        load_optimize_config(path)


def test_optimize_cli_real_data(shared_data: Path, tmp_path: Path) -> None:
    cfg = {
        "backtest": {
            "data": {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT"],
                     "start": "2015-01-01", "end": "2016-12-31"},
            "initial_cash": 100000,
        },
        "strategy": "sma_cross",
        "params": {"fast": [5, 10], "slow": [30, 60]},
        "walk_forward": {"train_bars": 200, "test_bars": 100},
    }  # fmt: skip
    path = tmp_path / "o.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    env = {"ALPHAPULSE_DATA": str(shared_data)}
    res = CliRunner().invoke(
        app, ["optimize", str(path), "--out", str(out), "--workers", "1"], env=env
    )
    assert res.exit_code == 0, res.output
    result = json.loads((out / "optimize.json").read_text())
    assert result["n_sets"] == 4 and len(result["windows"]) == 3
    assert result["engine"] == "compiled"  # sma_cross with default costs: the numba kernel
    page = (out / "optimize.html").read_text()
    assert "Parameter stability" in page
    assert f"<td>{result['oos']['deflated_sharpe']:.3f}</td>" in page
    base = result["baseline"]["buy_and_hold"]  # beside the optimised figures, page and CLI
    assert f"<td>{base['sharpe']:,.2f}</td>" in page and "Buy and hold" in page
    assert f"buy and hold on the same bars: Sharpe {base['sharpe']}" in " ".join(res.output.split())
    assert len(pd.read_csv(out / "oos_equity.csv")) == result["oos"]["n_bars"] + 1
