"""RL environment throughput and PPO memory.

Steps per second of ``TradingEnv`` (the engine's step: venue with costs, ledger,
pass-through risk) under random actions, for 1 and 10 symbols of synthetic daily bars,
best of ``--repeat``; then a PPO run of ``--ppo-steps`` on one symbol with its peak RSS
(``resource.getrusage``). PPO's memory does not grow with the run's length (the rollout
buffer holds ``n_steps x n_envs`` observations, each episode builds a fresh engine), so
a million-step run's peak is estimated by this shorter run's.

    .venv/bin/python benchmarks/bench_rl_env.py --steps 20000 --ppo-steps 20000
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from alphapulse.data.panel import Panel
from alphapulse.rl.config import RLConfig
from alphapulse.rl.env import TradingEnv


def panel(t: int, n: int, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (t, n)), axis=0))
    ts = (1_600_000_000 * 10**9 + np.arange(t) * 86_400 * 10**9).astype(np.int64)
    fields = {"open": c, "high": c * 1.002, "low": c * 0.998, "close": c,
              "volume": np.full((t, n), 1e8)}  # fmt: skip
    return Panel(ts, tuple(f"S{i}" for i in range(n)), fields)


def config(n_steps: int) -> RLConfig:
    return RLConfig.model_validate(
        {
            "data": {"source": "synthetic"},
            "train_end": "2100-01-01",
            "env": {"episode_bars": n_steps, "warmup_bars": 30},
            "learn": {"total_timesteps": n_steps, "progress": False, "eval_every": 10**9},
        }
    )


def steps_per_second(n_symbols: int, steps: int, repeat: int, hold: bool) -> float:
    p = panel(steps + 100, n_symbols)
    cfg = config(steps)
    env = TradingEnv(p, cfg.backtest(), cfg.env)
    best = 0.0
    rng = np.random.default_rng(0)
    acts = rng.integers(0, 3, (steps, n_symbols))
    if hold:
        acts[:] = 2
    for _ in range(repeat):
        env.reset(seed=0)
        t0 = time.process_time()
        for a in acts:
            env.step(a)
        best = max(best, steps / (time.process_time() - t0))
    return best


def ppo_rss(steps: int) -> tuple[float, float]:
    from alphapulse.rl.train import train_policy

    p = panel(5000, 1)
    cfg = config(252).model_copy()
    cfg = cfg.model_copy(update={"learn": cfg.learn.model_copy(update={"total_timesteps": steps})})
    t0 = time.process_time()
    train_policy(cfg, p, (0, p.n_bars), None)
    cpu = time.process_time() - t0
    return cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ppo-steps", type=int, default=20_000)
    a = ap.parse_args()
    for n in (1, 10):
        for hold in (False, True):
            sps = steps_per_second(n, a.steps, a.repeat, hold)
            what = "always long" if hold else "random actions"
            print(f"env, {n:>2} symbol(s), {what:<14}: {sps:>9,.0f} steps/s (CPU)")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu, rss = ppo_rss(a.ppo_steps)
    print(f"PPO {a.ppo_steps:,} steps, 1 symbol: {cpu:.1f} CPU s "
          f"({a.ppo_steps / cpu:,.0f} steps/s), peak RSS {rss:.0f} MiB "
          f"(before PPO {rss0:.0f} MiB)")  # fmt: skip


if __name__ == "__main__":
    main()
