"""``alphapulse rl train``: PPO (default), A2C or SAC from Stable-Baselines3 on vectorised
``TradingEnv`` copies over the training window, a deterministic validation run over the
validation window every ``eval_every`` steps (the best policy is kept; ``patience``
evaluations without improvement stop training), the curves logged to MLflow and the
best policy registered (``ml.registry``) with its feature set, data hash, config and the
span it has seen (``ml.integrity``: up to the end of the validation window)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphapulse.core.errors import ConfigError
from alphapulse.data.panel import Panel
from alphapulse.data.raw import utc_timestamp
from alphapulse.features import compute_features
from alphapulse.ml.integrity import TrainingSpan
from alphapulse.rl.config import RLConfig
from alphapulse.rl.env import TradingEnv
from alphapulse.rl.observe import Obs, clean_features
from alphapulse.rl.policy import Policy

_DAY_NS = 86_400 * 10**9


@dataclass
class TrainResult:
    policy: Policy
    timesteps: int
    evaluations: list[tuple[int, float]]  # (timestep, validation total return)
    metrics: dict[str, float]
    version: int | None = None  # registry version (None: not registered)
    metadata: dict[str, Any] = field(default_factory=dict)


def end_ns(text: str) -> int:
    """The last nanosecond a date or time names (a date: its whole day), UTC."""
    try:
        ts = utc_timestamp(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    ns = int(ts.value)
    return ns + _DAY_NS - 1 if ts == ts.normalize() else ns


def window_rows(panel: Panel, cfg: RLConfig) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """Row ranges [start, stop) of the training and the validation windows."""
    ts = panel.timestamps
    stop = int(np.searchsorted(ts, end_ns(cfg.train_end), side="right"))
    need = cfg.env.warmup_bars + 2  # an episode starts after the warmup and has 2 bars
    if stop < need:
        raise ConfigError(
            f"train_end {cfg.train_end}: {stop} bars up to it, env.warmup_bars "
            f"{cfg.env.warmup_bars} needs at least {need}"
        )
    if cfg.valid_end is None:
        return (0, stop), None
    vstop = int(np.searchsorted(ts, end_ns(cfg.valid_end), side="right"))
    if vstop - stop < 2:
        raise ConfigError(f"valid_end {cfg.valid_end}: fewer than 2 bars after train_end")
    return (0, stop), (stop, vstop)


def panel_features(panel: Panel, cfg: RLConfig) -> Obs:
    """Cleaned observation features [T, N, F] of the whole panel (causal)."""
    return clean_features(compute_features(panel, cfg.env.feature_set()).values, cfg.env.clip)


def run_policy(policy: Policy, env: TradingEnv) -> tuple[float, list[float]]:
    """One deterministic episode; (total return after costs, equity per step)."""
    obs, _ = env.reset(seed=0)
    equity: list[float] = []
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy.act(obs))
        equity.append(float(info["equity"]))
        done = terminated or truncated
    return equity[-1] / env.backtest.initial_cash - 1.0, equity


def train_policy(
    cfg: RLConfig,
    panel: Panel,
    rows: tuple[int, int],
    valid: tuple[int, int] | None,
    features: Obs | None = None,
    log: Any = None,
) -> TrainResult:
    """Train on ``rows`` of ``panel``, validating on ``valid``; ``log(step, metrics)``
    receives each evaluation (e.g. MLflow)."""
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    torch.set_num_threads(1)
    feats = panel_features(panel, cfg) if features is None else features
    bt, lc = cfg.backtest(), cfg.learn

    def make(i: int) -> Any:
        return lambda: TradingEnv(panel, bt, cfg.env, rows, features=feats)

    vec_cls = SubprocVecEnv if lc.vec_env == "subproc" and lc.n_envs > 1 else DummyVecEnv
    venv = vec_cls([make(i) for i in range(lc.n_envs)])
    model = _algorithm(cfg, venv)
    n_sym, n_feat = panel.n_symbols, feats.shape[2]
    policy = Policy.from_model(model, lc.algo, cfg.env, n_sym, n_feat, lc.net_arch)
    venv_eval = (
        TradingEnv(panel, bt, cfg.env, valid, fixed_start=True, features=feats) if valid else None
    )
    evals: list[tuple[int, float]] = []
    best: dict[str, Any] = {"score": -np.inf, "state": None, "stale": 0}

    class Validate(BaseCallback):
        def _on_step(self) -> bool:
            if venv_eval is None or self.num_timesteps % lc.eval_every >= lc.n_envs:
                return True
            score, _ = run_policy(policy, venv_eval)
            evals.append((self.num_timesteps, score))
            if log is not None:
                log(self.num_timesteps, {"valid_return": score})
            if score > best["score"] + 1e-9:
                best.update(score=score, state=copy.deepcopy(model.policy.state_dict()), stale=0)
            else:
                best["stale"] += 1
            return lc.patience is None or best["stale"] < lc.patience

    model.learn(lc.total_timesteps, callback=Validate(), progress_bar=lc.progress)
    if best["state"] is not None:
        model.policy.load_state_dict(best["state"])
    model.policy.set_training_mode(False)
    venv.close()
    metrics = {"timesteps": float(model.num_timesteps)}
    if venv_eval is not None:
        metrics["valid_return"] = run_policy(policy, venv_eval)[0]
    metrics["train_return"] = run_policy(
        policy, TradingEnv(panel, bt, cfg.env, rows, fixed_start=True, features=feats)
    )[0]
    return TrainResult(policy, int(model.num_timesteps), evals, metrics)


def _algorithm(cfg: RLConfig, venv: Any) -> Any:
    from stable_baselines3 import A2C, PPO, SAC

    lc = cfg.learn
    kw: dict[str, Any] = {
        "learning_rate": lc.learning_rate,
        "gamma": lc.gamma,
        "seed": lc.seed,
        "device": "cpu",
        "verbose": 0,
        "policy_kwargs": {"net_arch": list(lc.net_arch)},
    }
    if lc.algo == "sac":
        return SAC("MlpPolicy", venv, batch_size=lc.batch_size, ent_coef="auto", **kw)
    if lc.algo == "a2c":
        return A2C("MlpPolicy", venv, n_steps=min(lc.n_steps, 32), ent_coef=lc.ent_coef, **kw)
    return PPO("MlpPolicy", venv, n_steps=lc.n_steps, batch_size=lc.batch_size,
               n_epochs=lc.n_epochs, ent_coef=lc.ent_coef, **kw)  # fmt: skip


def policy_metadata(cfg: RLConfig, panel: Panel, result: TrainResult, seen: int) -> dict[str, Any]:
    """Registry metadata: feature set, data hash, config and the span seen (rows < seen)."""
    fs = cfg.env.feature_set()
    ts = panel.timestamps
    span = TrainingSpan("", int(ts[0]), int(ts[seen - 1]))
    sub = Panel(ts[:seen], panel.symbols, {k: v[:seen] for k, v in panel.fields.items()})
    return {
        "feature_set": fs.name,
        "feature_set_version": fs.version,
        "feature_config": fs.model_dump(mode="json"),
        "params": {"config": cfg.model_dump(mode="json")},
        "train_start": pd.Timestamp(ts[0], tz="UTC").isoformat(),
        "train_end": pd.Timestamp(ts[seen - 1], tz="UTC").isoformat(),
        "data_hash": sub.digest(),
        "metrics": result.metrics,
        "symbols": list(panel.symbols),
        "algo": cfg.learn.algo,
        **span.metadata(),
    }


def train(cfg: RLConfig, panel: Panel | None = None, register: bool = True) -> TrainResult:
    """``alphapulse rl train``: load the data, train, log to MLflow, register."""
    from alphapulse.engine.runner import load_data
    from alphapulse.ml.registry import ModelRegistry

    panel = panel if panel is not None else load_data(cfg.backtest())
    rows, valid = window_rows(panel, cfg)
    registry = ModelRegistry(cfg.policy.tracking_uri, root=cfg.policy.root) if register else None
    log = None
    if registry is not None:
        client = registry.client
        exp = client.get_experiment_by_name(registry.experiment)
        assert exp is not None
        run = client.create_run(exp.experiment_id, run_name=f"{cfg.policy.name}-training")
        run_id = run.info.run_id

        def log(step: int, metrics: dict[str, float]) -> None:
            for k, v in metrics.items():
                client.log_metric(run_id, k, v, step=step)

    result = train_policy(cfg, panel, rows, valid, log=log)
    seen = (valid or rows)[1]
    result.metadata = policy_metadata(cfg, panel, result, seen)
    if registry is not None:
        client.set_terminated(run_id)
        result.version = registry.register(result.policy, cfg.policy.name, result.metadata)
    return result
