"""Training learns a task with a known answer; registered policies load safely and trade
through the engine as the ``rl`` strategy (out of sample only, causal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphapulse.config import StrategyConfig
from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.engine.runner import run_strategy
from alphapulse.ml.integrity import InSampleError
from alphapulse.ml.registry import ModelRegistry
from alphapulse.rl.config import parse_rl_config
from alphapulse.rl.env import TradingEnv
from alphapulse.rl.policy import Policy
from alphapulse.rl.train import TrainResult, train
from tests.rl.conftest import day, rl_config, trend


@pytest.fixture(scope="module")
def panel() -> Panel:
    return trend(400, 1)


@pytest.fixture(scope="module")
def trained(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainResult, Path]:
    root = tmp_path_factory.mktemp("mlruns")
    # a small net, 1,024 steps and 4 epochs per rollout learn the trend (seeded, CPU)
    learn = {"seed": 0, "total_timesteps": 1024, "net_arch": [16], "n_epochs": 4}
    cfg = rl_config(panel, 249, 299, policy={"root": str(root), "name": "trend"}, learn=learn)
    return train(cfg, panel), root


def test_learns_a_deterministic_trend(trained: tuple[TrainResult, Path]) -> None:
    """Always long is the known answer; a random policy would be flat a third of the
    time and short a third (its expected return is far lower)."""
    result, _ = trained
    assert result.version == 1
    assert result.evaluations  # validation ran
    # the validation window has 50 bars of +1% each: long all the way is ~ +63% before costs
    assert result.metrics["valid_return"] > 0.45


def test_registered_policy_trades_out_of_sample_only(
    trained: tuple[TrainResult, Path], panel: Panel
) -> None:
    _, root = trained
    params = {"policy": "trend", "registry": {"root": str(root)}}
    cfg = rl_config(panel, 249).backtest([StrategyConfig(strategy="rl", params=params)])
    with pytest.raises(InSampleError, match="registry policy 'trend'"):
        run_strategy(cfg, cfg.strategies[0], panel)
    oos = {**params, "start": day(panel, 300)}
    cfg = cfg.model_copy(update={"strategies": [StrategyConfig(strategy="rl", params=oos)]})
    res = run_strategy(cfg, cfg.strategies[0], panel)
    assert res.fills and res.fills[0].bar_index >= 300
    assert res.equity[-1] > res.equity[300] * 1.3  # it holds the trend


def test_rl_strategy_look_ahead_canary(trained: tuple[TrainResult, Path], panel: Panel) -> None:
    """Changing every bar after T changes no decision before T."""
    _, root = trained
    params = {"policy": "trend", "registry": {"root": str(root)}, "start": day(panel, 300)}
    cfg = rl_config(panel, 249).backtest([StrategyConfig(strategy="rl", params=params)])
    fields = {k: v.copy() for k, v in panel.fields.items()}
    for v in fields.values():
        v[350:] = v[350:][::-1]  # the trend turns down after T = 350
    other = Panel(panel.timestamps, panel.symbols, fields)
    a = run_strategy(cfg, cfg.strategies[0], panel)
    b = run_strategy(cfg, cfg.strategies[0], other)
    t = panel.timestamps[350]
    # a notional order is sized at its first fill: one decided at T-1 fills at T's open
    before = [(o.sid, o.side, o.notional or o.quantity) for o in a.orders if o.created_ns < t]
    after = [(o.sid, o.side, o.notional or o.quantity) for o in b.orders if o.created_ns < t]
    assert before and before == after
    fills_a = [(f.order_id, f.quantity, f.price, f.fee) for f in a.fills if f.ts_ns < t]
    assert fills_a == [(f.order_id, f.quantity, f.price, f.fee) for f in b.fills if f.ts_ns < t]
    assert np.array_equal(a.equity[:350], b.equity[:350])


def test_rl_strategy_observes_what_the_env_showed_the_policy(
    trained: tuple[TrainResult, Path], panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the same bars the plugin's observations equal TradingEnv's: the account part
    is the book at the previous decision, not the current one."""
    result, root = trained
    seen: list[np.ndarray] = []
    act = Policy.act
    monkeypatch.setattr(Policy, "act", lambda self, obs: seen.append(obs.copy()) or act(self, obs))
    params = {"policy": "trend", "registry": {"root": str(root)}, "start": day(panel, 300)}
    cfg = rl_config(panel, 249)
    bt = cfg.backtest([StrategyConfig(strategy="rl", params=params)])
    run_strategy(bt, bt.strategies[0], panel)
    env = TradingEnv(
        panel, cfg.backtest(), result.policy.env, (300, panel.n_bars), fixed_start=True
    )
    obs, _ = env.reset(seed=0)
    done, shown = False, []
    while not done:
        shown.append(obs)
        obs, _, terminated, truncated, _ = env.step(act(result.policy, obs))  # unrecorded
        done = terminated or truncated
    assert len(seen) == len(shown) == panel.n_bars - 300
    assert np.abs(np.array(seen)[:, -3:-1]).max() > 0  # it held positions
    np.testing.assert_array_equal(np.array(seen), np.array(shown))


def test_policy_artifacts_are_checked_and_feature_set_must_match(
    trained: tuple[TrainResult, Path], panel: Panel
) -> None:
    _, root = trained
    other = {"name": "x", "features": [{"kind": "rsi"}]}
    params = {"policy": "trend", "registry": {"root": str(root)}, "features": other}
    with pytest.raises(ConfigError, match="trained on feature set 'rl_small' v1"):
        run_strategy(rl_config(panel, 249).backtest([StrategyConfig(strategy="rl", params=params)]),
                     StrategyConfig(strategy="rl", params=params), panel)  # fmt: skip
    reg = ModelRegistry(root=root)
    _, meta = reg.load_with(lambda p: p, "trend")
    assert meta["data_hash"] and meta["feature_set"] == "rl_small" and meta["max_label_end_ns"]
    weights = next(Path(root).rglob("policy.pt"))
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ConfigError, match="SHA-256"):
        run_strategy(rl_config(panel, 249).backtest([StrategyConfig(strategy="rl")]),
                     StrategyConfig(strategy="rl", params={"policy": "trend",
                                    "registry": {"root": str(root)}}), panel)  # fmt: skip


def test_sac_with_discrete_actions_is_a_clear_error() -> None:
    raw = {"data": {"source": "x"}, "train_end": "2020-01-01", "learn": {"algo": "sac"}}
    with pytest.raises(ConfigError, match="sac needs continuous actions"):
        parse_rl_config(raw, "rl.yaml")
