"""TradingEnv invariants: checkers, reward accounting, costs, risk limits, seeding."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from alphapulse.data.panel import Panel
from alphapulse.rl.config import RLConfig
from alphapulse.rl.env import TradingEnv
from tests.rl.conftest import make_panel, random_walk, rl_config


def make_env(panel: Panel, cfg: RLConfig, **kw: object) -> TradingEnv:
    return TradingEnv(panel, cfg.backtest(), cfg.env, (0, panel.n_bars), **kw)  # type: ignore[arg-type]


def rollout(
    env: TradingEnv, actions: Sequence[object], seed: int = 0
) -> tuple[list[float], list[dict]]:
    env.reset(seed=seed)
    rewards, infos = [], []
    for a in actions:
        _, r, terminated, truncated, info = env.step(a)
        rewards.append(r)
        infos.append(info)
        if terminated or truncated:
            break
    return rewards, infos


@pytest.mark.parametrize("action", ["discrete", "continuous"])
def test_passes_gymnasium_and_sb3_checkers(walk: Panel, action: str) -> None:
    cfg = rl_config(walk, 250, env={"action": action})
    env = make_env(walk, cfg)
    check_env(env, skip_render_check=True)
    sb3_check_env(make_env(walk, cfg), warn=False)


@settings(max_examples=12, deadline=None)
@given(
    acts=st.lists(st.integers(0, 2), min_size=40, max_size=40),
    reward=st.sampled_from(["pnl", "drawdown"]),
    lam=st.floats(0.0, 2.0),
)
def test_rewards_add_up_to_equity_change_minus_penalty(
    acts: list[int], reward: str, lam: float
) -> None:
    panel = random_walk(150, 1, seed=3)
    cfg = rl_config(panel, 140, env={"reward": reward, "drawdown_penalty": lam})
    env = make_env(panel, cfg)
    rewards, infos = rollout(env, [np.array([a]) for a in acts], seed=1)
    cash0, scale = cfg.initial_cash, cfg.env.reward_scale
    change = (infos[-1]["equity"] - cash0) / cash0
    penalty = lam * sum(i["penalty"] for i in infos) if reward == "drawdown" else 0.0
    assert sum(rewards) / scale == pytest.approx(change - penalty, abs=1e-9)
    assert all(i["penalty"] >= 0 for i in infos)


def test_costs_are_charged(walk: Panel) -> None:
    acts = [np.array([2, 0]) if k % 2 else np.array([0, 2]) for k in range(50)]
    costly = make_env(walk, rl_config(walk, 250))
    free_cfg = rl_config(walk, 250, execution={"commission": {"model": "none"},
                                                "slippage": {"model": "none"}})  # fmt: skip
    free = make_env(walk, free_cfg)
    r1, i1 = rollout(costly, acts)
    r2, i2 = rollout(free, acts)
    assert i1[-1]["fees"] > 0 and i2[-1]["fees"] == 0
    assert costly.engine is not None and costly.engine.fills  # it traded
    assert sum(r1) < sum(r2)  # churning costs money the frictionless run keeps


def test_no_action_breaches_a_risk_limit() -> None:
    panel = random_walk(200, 3, seed=5)
    limits = {"max_position_pct": 0.2, "max_gross_leverage": 0.5}
    cfg = rl_config(panel, 190, env={"action": "continuous"}, risk={"limits": limits})
    env = make_env(panel, cfg)
    env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(120):
        _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, 3).astype(np.float32))
        lg = env.engine.ledger  # type: ignore[union-attr]
        weights = np.abs(lg.qty * lg.last_price) / lg.equity
        assert weights.max() <= 0.2 * 1.05  # limits hold up to one bar's price move
        assert weights.sum() <= 0.5 * 1.05
        if terminated or truncated:
            break
    assert env.engine is not None
    assert any(e.kind in ("order_resized", "order_rejected") for e in env.engine.risk.events())


def test_reset_with_seed_reproduces_an_episode(walk: Panel) -> None:
    cfg = rl_config(walk, 250)
    env = make_env(walk, cfg)
    obs_a, _ = env.reset(seed=7)
    acts = [env.action_space.sample() for _ in range(60)]
    r_a, i_a = rollout(env, acts, seed=7)
    obs_b, _ = env.reset(seed=7)
    r_b, i_b = rollout(env, acts, seed=7)
    assert np.array_equal(obs_a, obs_b)
    assert r_a == r_b and [i["equity"] for i in i_a] == [i["equity"] for i in i_b]
    starts = {env.reset(seed=s)[1]["bar"] for s in range(8)}
    assert len(starts) > 1  # the seed chooses the window


def test_observation_is_causal(walk: Panel) -> None:
    """Changing bars after T changes no observation before T."""
    cfg = rl_config(walk, 250)
    later = {k: v.copy() for k, v in walk.fields.items()}
    for v in later.values():
        v[200:] *= 1.5
    other = Panel(walk.timestamps, walk.symbols, later)
    env_a = make_env(walk, cfg, fixed_start=True)
    env_b = make_env(other, cfg, fixed_start=True)
    obs_a, _ = env_a.reset(seed=0)
    obs_b, _ = env_b.reset(seed=0)
    for t in range(199):
        assert np.array_equal(obs_a, obs_b), t
        obs_a, *_ = env_a.step(np.array([2, 0]))
        obs_b, *_ = env_b.step(np.array([2, 0]))


def test_env_observation_is_the_strategys(walk: Panel) -> None:
    """The env's fast observation equals ``observe.observation`` (what the ``rl``
    strategy builds) at every step, and discrete actions' cached Signals are read-only."""
    from alphapulse.rl.observe import account_state, observation

    cfg = rl_config(walk, 250, env={"allow_short": True}, execution={"allow_short": True})
    env = make_env(walk, cfg, fixed_start=True)
    env.reset(seed=0)
    acts = np.random.default_rng(1).integers(0, 3, (120, walk.n_symbols))
    for a in acts:
        obs, *_ = env.step(a)
        row = min(env._t, walk.n_bars - 1)
        want = observation(env.features[row], account_state(env._actor.seen, 2), cfg.env.clip)
        assert obs.dtype == np.float32 and np.array_equal(obs, want)
    assert env._actor.signals is not None
    assert not env._actor.signals.direction.flags.writeable


@given(
    pos=st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3),
    avg=st.lists(st.one_of(st.just(np.nan), st.floats(1, 1e3)), min_size=3, max_size=3),
    last=st.lists(st.one_of(st.just(np.nan), st.floats(1, 1e3)), min_size=3, max_size=3),
    cash=st.floats(-1e6, 1e6),
    equity=st.floats(1e-3, 1e7),
)
@settings(max_examples=60, deadline=None)
def test_account_kernel_matches_numpy(
    pos: list[float], avg: list[float], last: list[float], cash: float, equity: float
) -> None:
    from alphapulse.rl.observe import _account

    p, a, lp = np.array(pos), np.array(avg), np.array(last)
    price = np.where(np.isnan(lp), 0.0, lp)
    entry = np.where(np.isnan(a), price, a)
    want = np.concatenate((p * price / equity, p * (price - entry) / equity, [cash / equity]))
    out = np.empty(7, dtype=np.float32)
    _account(out, p, a, lp, cash, equity, 5.0)
    assert np.array_equal(out, np.clip(want.astype(np.float32), -5.0, 5.0))


def test_window_end_truncates_and_ruin_terminates() -> None:
    """The window's last bar is a time limit (truncated: SB3 bootstraps the value of the
    book still held); only ruin (equity <= 0) terminates."""
    walk = random_walk(100, 1)
    env = make_env(walk, rl_config(walk, 90, env={"episode_bars": 10, "warmup_bars": 5}))
    env.reset(seed=0)
    flags = [env.step(np.array([2]))[2:4] for _ in range(10)]
    assert flags == [(False, False)] * 9 + [(False, True)]
    # all in short (one symbol: its slot is the whole equity), then the price quadruples
    closes = np.array([100.0] * 20 + [400.0] * 20)[:, None]
    panel = make_panel(closes)
    cfg = rl_config(panel, 39, env={"warmup_bars": 0}, execution={"allow_short": True})
    ruin = make_env(panel, cfg, fixed_start=True)
    ruin.reset(seed=0)
    for _ in range(21):
        _, _, terminated, truncated, info = ruin.step(np.array([0]))
        if terminated or truncated:
            break
    assert info["equity"] <= 0 and (terminated, truncated) == (True, False)


def test_the_last_observation_of_a_window_shows_no_bar_after_it(walk: Panel) -> None:
    """A truncated episode's last observation (what learners bootstrap from) holds no
    bar after the env's rows: changing the bars after them moves none of it."""
    cfg = rl_config(walk, 250)
    later = {k: v.copy() for k, v in walk.fields.items()}
    for v in later.values():
        v[100:] *= 1.5
    other = Panel(walk.timestamps, walk.symbols, later)
    last = []
    for panel in (walk, other):
        env = TradingEnv(panel, cfg.backtest(), cfg.env, (0, 100), fixed_start=True)
        env.reset(seed=0)
        truncated = False
        while not truncated:
            obs, _, _, truncated, _ = env.step(np.array([2, 0]))
        last.append(obs)
    assert np.array_equal(last[0], last[1])
